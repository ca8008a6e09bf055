import amqp from 'amqp-connection-manager';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { taskQueueOptions } from './task-queue';
import type { QueueType } from './task-queue';

/** A notification to publish: the plain JSON body every publisher may send (see README, AMQP messages). */
export interface NotificationToPublish {
  /** One user (`user_id`) or, with `userIds`, a list (`user_ids`): exactly one of the two. */
  userId?: number | string;
  userIds?: Array<number | string>;
  message: unknown;
  /** Becomes the AMQP `message_id`, which the worker uses as the task id; a UUID when absent. */
  taskId?: string;
}

export interface PublisherOptions {
  url: string;
  queue: string;
  /** How the queue is declared (`AMQP_QUEUE_TYPE`), as the worker declares it. Default: classic. */
  queueType?: QueueType;
  /** How long a publish may wait for the broker (connecting, then confirming) before it fails. */
  timeoutMs?: number;
}

/**
 * Publishes notifications to the task queue on a confirm channel: `publish()` resolves only once
 * the broker has taken the message (persistent, on a durable queue), so the task id it returns is
 * one the worker will see. Reconnects by itself (amqp-connection-manager).
 */
export class NotificationPublisher {
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;

  constructor(private readonly options: PublisherOptions) {
    this.connection = amqp.connect([options.url], { heartbeatIntervalInSeconds: 10, reconnectTimeInSeconds: 1 });
    // Without a listener an unreachable broker would be an unhandled 'error' event; the connection
    // manager keeps retrying, and isConnected() reports the state to the readiness check.
    this.connection.on('connectFailed', () => undefined);
    this.channel = this.connection.createChannel({
      confirm: true,
      publishTimeout: options.timeoutMs ?? 5000,
      // As the worker (and Celery) declare it, so the declarations agree.
      setup: (channel: ConfirmChannel) =>
        channel.assertQueue(options.queue, taskQueueOptions(options.queueType ?? 'classic')).then(() => undefined),
    });
    this.channel.on('error', () => undefined);
  }

  /** Resolves to the task id once the broker has confirmed the message. */
  async publish(notification: NotificationToPublish): Promise<string> {
    const taskId = notification.taskId ?? randomUUID();
    const recipients =
      notification.userIds === undefined ? { user_id: notification.userId } : { user_ids: notification.userIds };
    const body = Buffer.from(JSON.stringify({ ...recipients, message: notification.message }));
    await this.channel.sendToQueue(this.options.queue, body, {
      messageId: taskId,
      persistent: true,
      contentType: 'application/json',
    });
    return taskId;
  }

  /** Publishes a message as it is (a deferred task coming due); resolves once the broker confirmed it. */
  async publishMessage(content: Buffer, properties: Options.Publish): Promise<void> {
    await this.channel.sendToQueue(this.options.queue, content, properties);
  }

  /**
   * The messages ready in a queue, 0 when it does not exist yet. On a short-lived channel of its
   * own: checking a missing queue makes the broker close the channel it was asked on.
   */
  async messageCount(queue: string): Promise<number> {
    const connection = this.connection.connection;
    if (!connection) throw new Error('Not connected to the broker');
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return 0;
      throw error;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close();
  }
}
