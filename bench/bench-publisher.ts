import * as amqp from 'amqplib';

/**
 * Publishes `{user_id, message: {seq, t}}` (or `{user_ids, ...}`, one task for a list) to the task queue, persistent, with publisher confirms
 * in windows (as a production publisher would), either as fast as the broker takes them or at a
 * steady rate.
 */
export class BenchPublisher {
  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
    private readonly queue: string,
  ) {}

  static async connect(url: string, queue: string): Promise<BenchPublisher> {
    const connection = await amqp.connect(url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    return new BenchPublisher(connection, channel, queue);
  }

  /** Returns when every message is confirmed: `startedAt` is the first publish, `confirmedAt` the last confirm. */
  async publish(
    count: number,
    /** A user (`user_id`), or a list of users (`user_ids`). */
    userFor: (seq: number) => string | string[],
    ratePerSecond?: number,
  ): Promise<{ startedAt: number; confirmedAt: number }> {
    const startedAt = Date.now();
    const window = 500;
    for (let seq = 0; seq < count; seq++) {
      if (ratePerSecond) {
        const due = startedAt + (seq * 1000) / ratePerSecond;
        const wait = due - Date.now();
        if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const to = userFor(seq);
      const recipients = Array.isArray(to) ? { user_ids: to } : { user_id: to };
      const body = Buffer.from(JSON.stringify({ ...recipients, message: { seq, t: Date.now() } }));
      const writable = this.channel.sendToQueue(this.queue, body, {
        persistent: true,
        messageId: `bench-${startedAt}-${seq}`,
        contentType: 'application/json',
      });
      if (!writable) await new Promise((resolve) => this.channel.once('drain', resolve));
      if (seq % window === window - 1) await this.channel.waitForConfirms();
    }
    await this.channel.waitForConfirms();
    return { startedAt, confirmedAt: Date.now() };
  }

  async purge(): Promise<void> {
    await this.channel.purgeQueue(this.queue);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
