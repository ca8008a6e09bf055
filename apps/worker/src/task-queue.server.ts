import { RmqContext, ServerRMQ } from '@nestjs/microservices';
import type { RmqOptions } from '@nestjs/microservices';
import { deadLetterQueueOf, deadLetterQueueOptions, republishedProperties, taskQueueOptions } from '@app/publishing';
import type { QueueType } from '@app/publishing';
import type { Channel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { AckCoalescer } from './ack-coalescer';
import { SEND_NOTIFICATION_PATTERN } from './notifications/notification-task';

/** How many times a message has failed, carried by the copy a retry publishes (see `retry`). */
export const ATTEMPTS_HEADER = 'x-notify-attempts';

type ServerRmqOptions = NonNullable<RmqOptions['options']>;

export interface TaskQueueOptions extends Omit<
  ServerRmqOptions,
  'queueOptions' | 'noAck' | 'isGlobalPrefetchCount' | 'consumerTag'
> {
  queue: string;
  /** How the queue and its dead-letter queue are declared (`AMQP_QUEUE_TYPE`). */
  queueType: QueueType;
}

/** What a handler finds as `RmqContext#getChannelRef()`: settling a message is all it may do. */
export interface MessageSettler {
  ack(message: ConsumeMessage): void;
  /** Puts the message back on the queue (nack with requeue), to be delivered again. */
  requeue(message: ConsumeMessage): void;
  /**
   * Publishes a copy of the message to the back of the queue with `ATTEMPTS_HEADER` set to
   * `attempts`, then acks the original: the count travels with the message, so every worker sees
   * it and no worker has to remember messages.
   */
  retry(message: ConsumeMessage, attempts: number): void;
  /**
   * Holds the message for later (a Celery `eta`) without using up the prefetch window, as Celery
   * does by raising its QoS. The signal aborts when the server closes: the message is then
   * already back on the queue and the handler must drop it.
   */
  defer(message: ConsumeMessage): AbortSignal;
  /** Moves the message, with the reason in its headers, to the service's dead-letter queue. */
  deadLetter(message: ConsumeMessage, reason: string): void;
  /** Aborts when the worker starts closing: a handler that is waiting (a backoff) settles at once. */
  readonly closing: AbortSignal;
}

/** The context the task queue hands its handler: Nest's, plus the settler of its message. */
export class TaskQueueContext extends RmqContext {
  constructor(
    message: ConsumeMessage,
    readonly settler: MessageSettler,
  ) {
    super([message, settler, SEND_NOTIFICATION_PATTERN]);
  }
}

/** The settler of a message the task queue delivered. */
export function settlerOf(context: RmqContext): MessageSettler {
  if (!(context instanceof TaskQueueContext)) throw new Error('Not a message delivered by TaskQueueServer');
  return context.settler;
}

/**
 * Nest's RMQ transport, extended where it falls short for a task queue:
 * - Every message goes to the `send_notification` handler as an event, with the raw amqplib message
 *   as its payload. Nest's own routing reads the pattern from a JSON body, so it would drop plain
 *   JSON and non-JSON bodies (no handler) before anything could record a FAILURE for them, and it
 *   would treat a body with an `id` as an RPC request.
 * - Acknowledgement is manual (`noAck: false`): the handler acks after the result row is committed,
 *   and the acks of one turn of the event loop go to the broker together (`AckCoalescer`).
 * - `close()` stops consuming, requeues the messages held for a later time, then waits until
 *   every other delivered message is acked or nacked, so a SIGTERM loses nothing; Nest's own
 *   `close()` drops the channel under messages in flight.
 *
 * Holding an eta task (`defer()`) must not use up the prefetch window, and how depends on the
 * queue type:
 * - classic: global (per-channel) QoS. RabbitMQ applies a changed per-consumer prefetch only to
 *   consumers created after the change, so `defer()` widens the channel's window instead, to
 *   prefetch + deferred, and narrows it again when a deferred message is settled.
 * - quorum: quorum queues do not support global QoS (RabbitMQ closes the whole connection with 540
 *   NOT_IMPLEMENTED when a channel with global QoS consumes from one), so QoS is per consumer. A
 *   consumer's window counts only its own unacked messages, and a cancelled consumer's unacked
 *   messages stay on the channel (not requeued, still ackable) and no longer count against any
 *   live consumer. So `defer()` moves consumption to a new consumer (same prefetch, new tag) and
 *   cancels the one that delivered the deferred message: the new consumer has a full window while
 *   the old one's deferred messages wait. Until a replaced consumer's other in-flight messages are
 *   settled the worker holds more than the prefetch (up to twice it for one renewal); they only
 *   drain, never refill.
 *   (Verified against RabbitMQ 3.10.8: `worker.int-spec.ts`, "quorum queue".)
 */
export class TaskQueueServer extends ServerRMQ {
  /** The live consumer's tag; in quorum mode it changes whenever `defer()` renews the consumer. */
  private consumerTag = `worker-${randomUUID()}`;
  private readonly queueType: QueueType;
  /** The consumer renewals in progress (quorum mode), in order; `close()` waits for them. */
  private renewals: Promise<void> = Promise.resolve();
  private readonly unsettled = new Set<ConsumeMessage>();
  private readonly deferred = new Map<ConsumeMessage, { channel: Channel; abort: AbortController }>();
  private readonly acks = new WeakMap<Channel, AckCoalescer>();
  private readonly basePrefetch: number;
  private onDrained: (() => void) | null = null;
  private readonly closingController = new AbortController();
  private consumerChannel: Channel | null = null;
  private closing: Promise<void> | null = null;

  constructor({ queueType, ...options }: TaskQueueOptions) {
    // Global (per-channel) QoS where the queue supports it: see the class comment.
    super({
      ...options,
      queueOptions: taskQueueOptions(queueType),
      noAck: false,
      isGlobalPrefetchCount: queueType === 'classic',
    });
    this.queueType = queueType;
    this.options.consumerTag = this.consumerTag;
    this.basePrefetch = options.prefetchCount ?? 0;
  }

  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    this.consumerChannel = channel;
    await channel.assertQueue(deadLetterQueueOf(this.queue), deadLetterQueueOptions(this.queueType));
    return super.setupChannel(channel, callback);
  }

  override async handleMessage(delivery: Record<string, unknown> | null, channel: Channel): Promise<void> {
    // amqplib passes null when the broker cancels the consumer (queue deleted).
    if (!delivery) return;
    const message = delivery as unknown as ConsumeMessage;
    this.unsettled.add(message);
    this.coalescerFor(channel).delivered(message);
    const context = new TaskQueueContext(message, this.settlerFor(channel));
    await this.handleEvent(SEND_NOTIFICATION_PATTERN, { pattern: SEND_NOTIFICATION_PATTERN, data: message }, context);
  }

  /**
   * Nest resolves a handler by first trying `JSON.parse` on the pattern, which throws for a plain
   * string: two exceptions per message, the worker's largest CPU cost in a profile (bench/). The
   * one pattern this server routes needs no parsing.
   */
  override getRouteFromPattern(pattern: string): string {
    return pattern === SEND_NOTIFICATION_PATTERN ? pattern : super.getRouteFromPattern(pattern);
  }

  /** Messages delivered to this worker and not yet acked or nacked. */
  get unsettledCount(): number {
    return this.unsettled.size;
  }

  /** Messages waiting on the queue (not yet delivered to any consumer), or null while disconnected. */
  async queueDepth(): Promise<number | null> {
    if (!this.consumerChannel || !this.isConnected()) return null;
    return (await this.consumerChannel.checkQueue(this.queue)).messageCount;
  }

  /** Whether the connection to the broker is up now (the readiness check reads it). */
  isConnected(): boolean {
    return this.server?.isConnected() ?? false;
  }

  /**
   * Runs once however often it is called: the worker drains it before closing the app, and the
   * app's own dispose calls it again after the database is gone.
   */
  override close(): Promise<void> {
    this.closing ??= this.drainAndClose();
    return this.closing;
  }

  private async drainAndClose(): Promise<void> {
    this.closingController.abort();
    await this.renewals;
    await this.consumerChannel?.cancel(this.consumerTag).catch(() => undefined);
    for (const [message, { channel, abort }] of this.deferred) {
      this.settlerFor(channel).requeue(message);
      abort.abort();
    }
    if (this.unsettled.size > 0) await new Promise<void>((resolve) => (this.onDrained = resolve));
    if (this.consumerChannel) this.settle(() => this.coalescerFor(this.consumerChannel!).flush());
    await super.close();
  }

  private settlerFor(channel: Channel): MessageSettler {
    const acks = this.coalescerFor(channel);
    const settled = (message: ConsumeMessage, settle: () => void) => {
      // A message is settled once: a second ack of one delivery tag would close the channel.
      if (!this.unsettled.has(message)) return;
      this.settle(settle);
      this.unsettled.delete(message);
      if (this.deferred.delete(message)) this.applyPrefetch(channel);
      if (this.unsettled.size === 0) this.onDrained?.();
    };
    const settledNow = (message: ConsumeMessage, settle: () => void) =>
      settled(message, () => {
        acks.settledNow(message);
        settle();
      });
    return {
      ack: (message) => settled(message, () => acks.ack(message)),
      requeue: (message) => settledNow(message, () => channel.nack(message, false, true)),
      retry: (message, attempts) =>
        settledNow(message, () => {
          const headers = { ...message.properties.headers, [ATTEMPTS_HEADER]: attempts };
          channel.sendToQueue(this.queue, message.content, republishedProperties(message.properties, headers));
          channel.ack(message);
        }),
      deadLetter: (message, reason) =>
        settledNow(message, () => {
          const headers = {
            ...message.properties.headers,
            'x-dead-letter-reason': reason,
            'x-original-queue': this.queue,
          };
          channel.sendToQueue(
            deadLetterQueueOf(this.queue),
            message.content,
            republishedProperties(message.properties, headers),
          );
          channel.ack(message);
        }),
      closing: this.closingController.signal,
      defer: (message) => {
        const abort = new AbortController();
        this.deferred.set(message, { channel, abort });
        if (this.queueType === 'quorum') this.renewConsumer(message, channel);
        else this.applyPrefetch(channel);
        return abort.signal;
      },
    };
  }

  private settle(send: () => void): void {
    try {
      send();
    } catch {
      // The channel closed since delivery (broker restart): the broker redelivers the message.
    }
  }

  private coalescerFor(channel: Channel): AckCoalescer {
    let acks = this.acks.get(channel);
    if (!acks) this.acks.set(channel, (acks = new AckCoalescer(channel)));
    return acks;
  }

  /** Classic mode: the channel's window is the prefetch plus the messages held for later. */
  private applyPrefetch(channel: Channel): void {
    if (this.basePrefetch === 0 || this.queueType !== 'classic') return; // unlimited already; no global QoS on quorum
    channel.prefetch(this.basePrefetch + this.deferred.size, true).catch(() => undefined);
  }

  /**
   * Quorum mode: frees the window a deferred message takes by consuming under a new tag (the
   * channel's per-consumer prefetch applies to it) and cancelling the consumer that delivered it.
   * A message from a consumer already replaced takes no live consumer's window: nothing to do. The
   * tag changes at once, so a burst of deferrals from one consumer renews it once.
   */
  private renewConsumer(message: ConsumeMessage, channel: Channel): void {
    if (this.basePrefetch === 0 || this.closing || message.fields.consumerTag !== this.consumerTag) return;
    const retiring = this.consumerTag;
    const next = `worker-${randomUUID()}`;
    this.consumerTag = next;
    // A reconnect (new channel) consumes under the current tag.
    this.options.consumerTag = next;
    this.renewals = this.renewals
      .then(async () => {
        await channel.consume(
          this.queue,
          (delivery) =>
            void this.handleMessage(delivery as unknown as Record<string, unknown> | null, channel).catch((error) =>
              this.handleError(error),
            ),
          { noAck: false, consumerTag: next },
        );
        await channel.cancel(retiring);
      })
      .catch(() => undefined); // the channel closed: the reconnect's setup consumes afresh
  }
}
