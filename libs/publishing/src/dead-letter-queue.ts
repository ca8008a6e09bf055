import * as amqp from 'amqplib';
import type { GetMessage, MessageProperties } from 'amqplib';
import { createHash } from 'node:crypto';
import { deadLetterQueueOf, republishedProperties } from './task-queue';

/** The headers the worker adds when it dead-letters a message (apps/worker task-queue.server.ts). */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-dead-letter-reason',
  originalQueue: 'x-original-queue',
  at: 'x-dead-lettered-at',
  attempts: 'x-notify-attempts',
} as const;

/** How much of a body a revealed listing shows. */
export const PREVIEW_BYTES = 512;
/** The most messages one requeue or discard looks through: each is held unacked while it runs. */
export const MAX_SCAN = 10_000;

/** One dead-lettered message as an operator sees it; the body only when asked for. */
export interface DeadLetter {
  /** The task id (message_id, Celery's `id` header, correlation_id), or `sha256:` of the body. */
  id: string;
  taskId: string | null;
  reason: string | null;
  originalQueue: string | null;
  deadLetteredAt: string | null;
  attempts: number | null;
  format: 'celery' | 'json' | 'not-json';
  contentType: string | null;
  size: number;
  /** The first PREVIEW_BYTES of the body as UTF-8, or null unless revealed. */
  preview: string | null;
}

/** Which dead letters an action applies to: by id (task id or `sha256:`), or all of them. */
export type DeadLetterSelection = { ids: string[] } | { all: true };

export interface DeadLetterOutcome {
  /** The ids acted on, once per message (two messages under one task id count twice). */
  done: string[];
  /** Asked-for ids that no message in the queue had. */
  notFound: string[];
}

/**
 * Lists, requeues and discards the messages of the task queue's dead-letter queue.
 *
 * RabbitMQ cannot show a queue's messages without taking them, so every operation takes them with
 * `basic.get` (no auto-ack) on a connection of its own, holding each one unacked: a listing acks
 * nothing, and closing the channel puts every message back (a classic queue in its original
 * position; a quorum queue may put it at the back: docs/admin-api.md#dead-letters). A requeue first publishes the chosen
 * messages to the task queue on a confirm channel and acks their dead-letter copies only once the
 * broker confirmed the copies, so a crash in between leaves a duplicate, never a loss; a discard
 * acks the chosen ones. Operations of one gateway run one at a time; while one runs, the messages
 * it holds are invisible to any other (another gateway's listing shows fewer), never lost.
 */
export class DeadLetterQueue {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly taskQueue: string,
  ) {}

  get name(): string {
    return deadLetterQueueOf(this.taskQueue);
  }

  /** Up to `limit` messages from the head of the queue, and how many it holds in all. */
  list(limit: number, reveal: boolean): Promise<{ total: number; messages: DeadLetter[] }> {
    return this.exclusively(async (channel) => {
      const { messageCount } = await channel.checkQueue(this.name);
      const messages: DeadLetter[] = [];
      for (let message; messages.length < limit && (message = await channel.get(this.name, { noAck: false }));)
        messages.push(describe(message, reveal));
      return { total: messageCount, messages };
    });
  }

  /** Publishes the selected messages to the task queue again, with their task ids, and removes them here. */
  requeue(selection: DeadLetterSelection): Promise<DeadLetterOutcome> {
    return this.exclusively(async (channel) => {
      const chosen = await this.take(channel, selection);
      for (const message of chosen.messages)
        channel.sendToQueue(this.taskQueue, message.content, requeuedProperties(message.properties));
      await channel.waitForConfirms();
      chosen.messages.forEach((message) => channel.ack(message));
      return chosen.outcome;
    });
  }

  /** Removes the selected messages for good. */
  discard(selection: DeadLetterSelection): Promise<DeadLetterOutcome> {
    return this.exclusively(async (channel) => {
      const chosen = await this.take(channel, selection);
      chosen.messages.forEach((message) => channel.ack(message));
      return chosen.outcome;
    });
  }

  /** Gets every message present (up to MAX_SCAN), keeping those selected; the rest go back on close. */
  private async take(channel: amqp.ConfirmChannel, selection: DeadLetterSelection) {
    const wanted = 'ids' in selection ? new Set(selection.ids) : null;
    const { messageCount } = await channel.checkQueue(this.name);
    const messages: GetMessage[] = [];
    const found = new Set<string>();
    for (let seen = 0, message; seen < Math.min(messageCount, MAX_SCAN); seen++) {
      if (!(message = await channel.get(this.name, { noAck: false }))) break;
      const id = idOf(message);
      if (wanted && !wanted.has(id)) continue;
      messages.push(message);
      found.add(id);
    }
    const notFound = wanted ? [...wanted].filter((id) => !found.has(id)) : [];
    return { messages, outcome: { done: messages.map(idOf), notFound } };
  }

  /** Runs `work` on a fresh connection, after this process' previous operation; closing returns what it did not ack. */
  private exclusively<T>(work: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const connection = await amqp.connect(this.url);
      try {
        const channel = await connection.createConfirmChannel();
        try {
          return await work(channel);
        } finally {
          // Closing the channel first: its acks go out before the close, which a connection close
          // could overtake; the broker then requeues what the channel did not ack.
          await channel.close().catch(() => undefined);
        }
      } finally {
        await connection.close().catch(() => undefined);
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function taskIdOf({ properties }: GetMessage): string | null {
  const candidates = [properties.messageId, properties.headers?.id, properties.correlationId];
  const id = candidates.find((value) => typeof value === 'string' && value.length > 0 && value.length <= 255);
  return (id as string | undefined) ?? null;
}

function idOf(message: GetMessage): string {
  return taskIdOf(message) ?? `sha256:${createHash('sha256').update(message.content).digest('hex').slice(0, 16)}`;
}

function describe(message: GetMessage, reveal: boolean): DeadLetter {
  const headers = message.properties.headers ?? {};
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  const attempts = Number(headers[DEAD_LETTER_HEADERS.attempts]);
  const { timestamp } = message.properties as MessageProperties & { timestamp?: number };
  return {
    id: idOf(message),
    taskId: taskIdOf(message),
    reason: text(headers[DEAD_LETTER_HEADERS.reason]),
    originalQueue: text(headers[DEAD_LETTER_HEADERS.originalQueue]),
    deadLetteredAt:
      text(headers[DEAD_LETTER_HEADERS.at]) ?? (timestamp ? new Date(timestamp * 1000).toISOString() : null),
    attempts: Number.isSafeInteger(attempts) && attempts > 0 ? attempts : null,
    format: formatOf(message),
    contentType: text(message.properties.contentType),
    size: message.content.length,
    preview: reveal ? message.content.subarray(0, PREVIEW_BYTES).toString('utf8') : null,
  };
}

function formatOf(message: GetMessage): DeadLetter['format'] {
  if (typeof message.properties.headers?.task === 'string') return 'celery';
  try {
    JSON.parse(message.content.toString('utf8'));
    return 'json';
  } catch {
    return 'not-json';
  }
}

/** As published first: the dead-letter headers and the failed attempts dropped, the task id kept. */
function requeuedProperties(properties: MessageProperties): amqp.Options.Publish {
  const headers = { ...(properties.headers ?? {}) };
  for (const header of Object.values(DEAD_LETTER_HEADERS)) delete headers[header];
  return republishedProperties(properties, headers);
}
