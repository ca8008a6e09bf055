import { Logger } from '@nestjs/common';
import { RmqContext, ServerRMQ } from '@nestjs/microservices';
import type { RmqOptions } from '@nestjs/microservices';
import {
  DEAD_LETTER_HEADERS,
  deadLetterQueueOf,
  deadLetterQueueOptions,
  republishedProperties,
  taskQueueOptions,
} from '@app/publishing';
import type { QueueType } from '@app/publishing';
import { urlWithoutCredentials } from '@app/runtime';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { AckCoalescer } from './ack-coalescer';
import { logBrokerConnection } from './broker-connection-log';
import { SEND_NOTIFICATION_PATTERN } from './notifications/notification-task';

/** How many times a message has failed, carried by the copy a retry publishes (see `retry`). */
export const ATTEMPTS_HEADER = DEAD_LETTER_HEADERS.attempts;

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

/** What handles each message; it must settle it (see `MessageSettler`) and never reject. */
export type TaskHandler = (context: TaskQueueContext) => Promise<void>;

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
 * QoS is per consumer, on classic and quorum queues alike: quorum queues refuse global QoS
 * (RabbitMQ closes the whole connection with 540 NOT_IMPLEMENTED), and on classic queues global
 * QoS cost the broker a quarter more CPU per message in the bench (docs/benchmarks.md). Holding an
 * eta task (`defer()`) must not use up the window, and RabbitMQ applies a changed per-consumer
 * prefetch only to consumers created after the change. But a consumer's window counts only its
 * own unacked messages, and a cancelled consumer's unacked messages stay on the channel (not
 * requeued, still ackable) and no longer count against any live consumer. So `defer()` moves
 * consumption to a new consumer (same prefetch, new tag) and cancels the one that delivered the
 * deferred message: the new consumer has a full window while the old one's deferred messages
 * wait. Until a replaced consumer's other in-flight messages are settled the worker holds more
 * than the prefetch (up to twice it for one renewal); they only drain, never refill.
 * (Verified against RabbitMQ 3.10.8: `worker.int-spec.ts`, on both queue types.)
 */
export class TaskQueueServer extends ServerRMQ {
  /** The live consumer's tag; it changes whenever `defer()` renews the consumer. */
  private consumerTag = `worker-${randomUUID()}`;
  private readonly queueType: QueueType;
  /** The consumer renewals in progress, in order; `close()` waits for them. */
  private renewals: Promise<void> = Promise.resolve();
  private readonly unsettled = new Set<ConsumeMessage>();
  private readonly deferred = new Map<ConsumeMessage, { channel: Channel; abort: AbortController }>();
  private readonly acks = new WeakMap<Channel, AckCoalescer>();
  private readonly settlers = new WeakMap<Channel, MessageSettler>();
  private handler: TaskHandler | null = null;
  private readonly basePrefetch: number;
  private onDrained: (() => void) | null = null;
  private readonly closingController = new AbortController();
  private consumerChannel: Channel | null = null;
  private closing: Promise<void> | null = null;

  constructor({ queueType, ...options }: TaskQueueOptions) {
    super({
      ...options,
      queueOptions: taskQueueOptions(queueType),
      noAck: false,
      isGlobalPrefetchCount: false,
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
    if (this.handler) return this.handler(context);
    await this.handleEvent(SEND_NOTIFICATION_PATTERN, { pattern: SEND_NOTIFICATION_PATTERN, data: message }, context);
  }

  /**
   * Hands every message to `handler` directly, past Nest's per-message RPC pipeline (execution
   * context, pipes, interceptors and observables, none of which the task queue uses): that
   * pipeline was 8 % of the worker's CPU in a profile of 50,000 messages (docs/benchmarks.md).
   * The handler is the `@EventPattern` method Nest registered; it settles every message itself.
   */
  handleWith(handler: TaskHandler): void {
    this.handler = handler;
  }

  /**
   * Nest resolves a handler by first trying `JSON.parse` on the pattern, which throws for a plain
   * string: two exceptions per message, the worker's largest CPU cost in a profile (bench/). The
   * one pattern this server routes needs no parsing.
   */
  override getRouteFromPattern(pattern: string): string {
    return pattern === SEND_NOTIFICATION_PATTERN ? pattern : super.getRouteFromPattern(pattern);
  }

  override async createClient<T>(): Promise<T> {
    const connection = await super.createClient<AmqpConnectionManager>();
    logBrokerConnection(connection, new Logger(TaskQueueServer.name));
    return connection as T;
  }

  /** What this server consumes and from where, for the start-up log (no credentials). */
  describeConsumption(): string {
    const brokers = (this.urls as unknown[]).map((url) => (typeof url === 'string' ? urlWithoutCredentials(url) : '?'));
    return `queue ${this.queue} (${this.queueType}, prefetch ${this.basePrefetch}) from ${brokers.join(', ')}`;
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

  /** One settler per channel, made once: a settler per message was a measurable share of the worker's garbage. */
  private settlerFor(channel: Channel): MessageSettler {
    let settler = this.settlers.get(channel);
    if (!settler) this.settlers.set(channel, (settler = this.newSettler(channel)));
    return settler;
  }

  private newSettler(channel: Channel): MessageSettler {
    const acks = this.coalescerFor(channel);
    /** False for a message settled before: a second ack of one delivery tag would close the channel. */
    const release = (message: ConsumeMessage): boolean => {
      if (!this.unsettled.delete(message)) return false;
      this.deferred.delete(message);
      if (this.unsettled.size === 0) this.onDrained?.();
      return true;
    };
    const settleNow = (message: ConsumeMessage, send: () => void) => {
      if (!release(message)) return;
      acks.settledNow(message);
      this.settle(send);
    };
    const copyTo = (queue: string, message: ConsumeMessage, headers: Record<string, unknown>) => {
      channel.sendToQueue(queue, message.content, republishedProperties(message.properties, headers));
      channel.ack(message);
    };
    return {
      ack: (message) => {
        if (release(message)) acks.ack(message);
      },
      requeue: (message) => settleNow(message, () => channel.nack(message, false, true)),
      retry: (message, attempts) =>
        settleNow(message, () =>
          copyTo(this.queue, message, { ...message.properties.headers, [ATTEMPTS_HEADER]: attempts }),
        ),
      deadLetter: (message, reason) =>
        settleNow(message, () =>
          copyTo(deadLetterQueueOf(this.queue), message, {
            ...message.properties.headers,
            [DEAD_LETTER_HEADERS.reason]: reason,
            [DEAD_LETTER_HEADERS.originalQueue]: this.queue,
            [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
          }),
        ),
      closing: this.closingController.signal,
      defer: (message) => {
        const abort = new AbortController();
        this.deferred.set(message, { channel, abort });
        this.renewConsumer(message, channel);
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

  /**
   * Frees the window a deferred message takes by consuming under a new tag (the
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
