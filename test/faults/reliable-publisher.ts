import * as amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A publisher that survives the broker going away, as a producing service should: it publishes in
 * small batches on a confirm channel and, when a batch is not confirmed (connection lost, broker
 * restarting), reconnects with backoff and publishes the batch again with the SAME message ids, so
 * the worker dedupes whatever did reach the queue by task id.
 */
export class ReliablePublisher {
  /** Every task published (confirmed), with its user. */
  readonly tasks = new Map<string, string>();
  retries = 0;
  connections = 0;
  private connection: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;

  constructor(
    private readonly url: string,
    private readonly queue: string,
  ) {}

  /** Publishes `total` notifications to `userFor(i)` at about `perSecond`, each confirmed. */
  async run(total: number, perSecond: number, userFor: (i: number) => string, batchSize = 10): Promise<void> {
    const started = Date.now();
    for (let i = 0; i < total; i += batchSize) {
      const batch = Array.from({ length: Math.min(batchSize, total - i) }, (_, k) => ({
        taskId: randomUUID(),
        userId: userFor(i + k),
        n: i + k,
      }));
      await this.publishUntilConfirmed(batch);
      const due = started + ((i + batch.length) * 1000) / perSecond;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
    this.connection = this.channel = null;
  }

  private async publishUntilConfirmed(batch: Array<{ taskId: string; userId: string; n: number }>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const channel = await this.open();
        for (const { taskId, userId, n } of batch) {
          channel.sendToQueue(this.queue, Buffer.from(JSON.stringify({ user_id: userId, message: { n } })), {
            persistent: true,
            messageId: taskId,
          });
        }
        await withTimeout(channel.waitForConfirms(), 10_000);
        for (const { taskId, userId } of batch) this.tasks.set(taskId, userId);
        return;
      } catch {
        this.retries++;
        await this.close();
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  }

  private async open(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    const connection = await amqp.connect(this.url);
    connection.on('error', () => undefined);
    connection.on('close', () => {
      if (this.connection === connection) this.connection = this.channel = null;
    });
    this.connection = connection;
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await channel.assertQueue(this.queue, { durable: true });
    this.connections++;
    return (this.channel = channel);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('confirm timeout')), ms))),
  ]).finally(() => clearTimeout(timer));
}
