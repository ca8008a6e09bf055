import type { AmqpConfig } from '@app/config';
import type { MessageProperties, Options } from 'amqplib';

/**
 * How the task queue is declared (`AMQP_QUEUE_TYPE`):
 * - `classic`: durable with no arguments, exactly as Celery declares it by default, so either side
 *   may declare first.
 * - `quorum`: durable with `x-queue-type: quorum`, replicated across a RabbitMQ cluster. Celery
 *   (5.5 and later) declares the same when its `task_queues` carry that argument.
 */
export type QueueType = AmqpConfig['AMQP_QUEUE_TYPE'];

/**
 * The one declaration of the task queue that every declarer uses: the worker, the publisher (REST
 * `POST /api/publish` and the CLI) and the tests. RabbitMQ refuses a queue declared twice with
 * different arguments (PRECONDITION_FAILED, 406), closing the channel that asked.
 */
export function taskQueueOptions(type: QueueType): Options.AssertQueue {
  return type === 'quorum' ? { durable: true, arguments: { 'x-queue-type': 'quorum' } } : { durable: true };
}

/**
 * Where the worker moves messages that cannot be processed, for an operator to inspect or replay.
 * Published to explicitly: a dead-letter exchange argument on the main queue would make its
 * declaration differ from Celery's.
 */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead-letter`;
}

/**
 * The dead-letter queue is declared as the task queue is. In a cluster (the reason to choose
 * quorum) a classic dead-letter queue would live on one node only: the messages it holds, the ones
 * that need an operator, would be lost with that node, while everything else survives it. It is
 * only ever published to and read by this service, so no Celery declaration has to agree with it.
 */
export function deadLetterQueueOptions(type: QueueType): Options.AssertQueue {
  return taskQueueOptions(type);
}

/**
 * The properties a copy of a consumed message is published with: a retry, a dead letter, a
 * deferred task coming due. Not `expiration`: the copy would expire on a clock of its own,
 * silently, even in the dead-letter queue. Not `userId`: the broker refuses a publish whose
 * user_id is not the publishing connection's user, and closes the channel over it.
 */
export function republishedProperties(
  properties: MessageProperties,
  headers: Record<string, unknown> = properties.headers ?? {},
): Options.Publish {
  const { contentType, contentEncoding, priority, correlationId, replyTo, messageId, timestamp, type, appId } =
    properties;
  return {
    contentType,
    contentEncoding,
    priority,
    correlationId,
    replyTo,
    messageId,
    timestamp,
    type,
    appId,
    headers,
    persistent: true,
  };
}
