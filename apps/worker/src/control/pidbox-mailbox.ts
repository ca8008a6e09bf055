import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import type { Channel, ConsumeMessage } from 'amqplib';
import { CeleryBroker } from '../celery-node/celery-broker';
import { LamportClock } from '../celery-node/lamport-clock';
import { ControlCommands } from './control-commands';
import { isAddressedTo } from './mailbox-message';
import type { MailboxMessage } from './mailbox-message';

/** The longest a start waits for the mailbox: a broker that is away must not hold the task consumer. */
const CONTROL_READY_WAIT_MS = 5000;

/**
 * The worker's node in kombu's pidbox (kombu/pidbox.py `Node`), which `celery inspect`,
 * `celery control`, `AsyncResult.revoke()` and Flower broadcast to: a queue
 * `<WORKER_NAME>.<exchange>.pidbox` bound to the fanout exchange `<exchange>.pidbox`, declared as
 * Celery declares its own (transient, auto-delete, 10 s expiry, 300 s message TTL). A message
 * that names a `reply_to` is answered on the direct exchange it names (`reply.<exchange>.pidbox`)
 * with `{<WORKER_NAME>: <reply>}` and the request's `ticket` in the headers.
 */
@Injectable()
export class PidboxMailbox implements OnApplicationBootstrap {
  private readonly logger = new Logger(PidboxMailbox.name);
  private readonly commandsRun;

  constructor(
    private readonly broker: CeleryBroker,
    private readonly commands: ControlCommands,
    private readonly clock: LamportClock,
    private readonly config: CeleryNodeConfig,
    metrics: MetricsRegistry,
  ) {
    this.commandsRun = metrics.counter({
      name: 'notify_control_commands_total',
      help: 'Celery remote-control commands this worker ran (celery inspect/control, Flower), by command',
      labelNames: ['command'] as const,
    });
  }

  private get replyExchange(): string {
    return `reply.${this.config.CELERY_CONTROL_EXCHANGE}.pidbox`;
  }

  get queueName(): string {
    return `${this.config.WORKER_NAME}.${this.config.CELERY_CONTROL_EXCHANGE}.pidbox`;
  }

  /**
   * Resolves once the mailbox consumes (or after CONTROL_READY_WAIT_MS, the broker being away), so
   * that a worker that has started answers `celery inspect ping`, as a Celery worker does once it
   * says "ready". Without the wait, a ping sent right after the start could miss it.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.CELERY_REMOTE_CONTROL) return;
    const exchange = `${this.config.CELERY_CONTROL_EXCHANGE}.pidbox`;
    let consuming!: () => void;
    const firstSetup = new Promise<void>((resolve) => (consuming = resolve));
    void this.broker.addSetup(async (channel: Channel) => {
      await channel.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
      // As kombu's `_publish_reply` declares it before each reply: a reply to a missing exchange
      // would close the channel.
      await channel.assertExchange(this.replyExchange, 'direct', { durable: false, autoDelete: false });
      await channel.assertQueue(this.queueName, {
        durable: false,
        autoDelete: true,
        arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 },
      });
      await channel.bindQueue(this.queueName, exchange, '');
      await channel.consume(this.queueName, (message) => void this.receive(message), { noAck: true });
      consuming();
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CONTROL_READY_WAIT_MS).unref();
      void firstSetup.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async receive(message: ConsumeMessage | null): Promise<void> {
    if (!message) return;
    this.clock.adjust(message.properties.headers?.clock);
    const request = this.decode(message);
    if (!request || !isAddressedTo(request, this.config.WORKER_NAME)) return;
    const args = isPlainObject(request.arguments) ? request.arguments : {};
    this.commandsRun.inc({ command: this.commands.knows(request.method) ? request.method : 'unknown' });
    const reply = await this.commands.run(request.method, args);
    const replyTo = request.reply_to;
    if (!replyTo) return;
    if (replyTo.exchange !== this.replyExchange || typeof replyTo.routing_key !== 'string') {
      this.logger.warn({ msg: 'Control reply not sent: unexpected reply_to', replyTo });
      return;
    }
    await this.broker
      .publishJson(
        replyTo.exchange,
        replyTo.routing_key,
        { [this.config.WORKER_NAME]: reply ?? null },
        { headers: { ticket: request.ticket ?? null, clock: this.clock.forward() }, deliveryMode: 1 },
      )
      .catch((error: Error) => this.logger.warn({ msg: 'Control reply not sent', error: error.message }));
  }

  /** The request, or null (logged) when it is not a JSON mailbox message: kombu accepts only JSON here. */
  private decode(message: ConsumeMessage): MailboxMessage | null {
    const contentType = message.properties.contentType ?? 'application/json';
    try {
      if (contentType !== 'application/json') throw new Error(`content type ${contentType} is not accepted`);
      const body: unknown = JSON.parse(message.content.toString('utf8'));
      if (!isPlainObject(body) || typeof body.method !== 'string') throw new Error('no method');
      return body as unknown as MailboxMessage;
    } catch (error) {
      this.logger.warn({ msg: 'Control message dropped', error: (error as Error).message });
      return null;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
