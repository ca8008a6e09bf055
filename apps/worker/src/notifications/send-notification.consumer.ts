import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, RmqContext } from '@nestjs/microservices';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import type { ConsumeMessage } from 'amqplib';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageSettler, SEND_NOTIFICATION_PATTERN } from '../task-queue.server';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { DecodedMessage } from './notification-task';
import { NotificationTaskProcessor } from './notification-task.processor';
import { TaskMetrics } from './task-metrics';
import { isTransientError } from './transient-error';

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * The queue's entry point: runs each message and settles it with the broker. At least once: a
 * message is acked only after its rows are committed and its notification published.
 * - Unreachable database or Redis: the message goes back to the queue after a backoff that grows
 *   while the outage lasts; it is never marked FAILURE for that.
 * - Bad input: a FAILURE row, then the dead-letter queue.
 * - Anything else: retried `TASK_MAX_ATTEMPTS` times, then a FAILURE row and the dead-letter queue.
 */
@Controller()
export class SendNotificationConsumer {
  private readonly logger = new Logger(SendNotificationConsumer.name);
  /** When the current outage began: the first transient failure since the last success. */
  private outageSince: number | null = null;
  /** Attempts of messages that failed for no transient reason, by message (this process only). */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly decoder: NotificationMessageDecoder,
    private readonly processor: NotificationTaskProcessor,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: TaskMetrics,
  ) {}

  @EventPattern(SEND_NOTIFICATION_PATTERN)
  async consume(@Ctx() context: RmqContext): Promise<void> {
    const message = context.getMessage() as ConsumeMessage;
    const settler = context.getChannelRef() as MessageSettler;
    const receivedAt = new Date();
    const decoded = this.decoder.decode(message);
    const wait = decoded.ok && decoded.task.eta ? decoded.task.eta.getTime() - Date.now() : 0;
    if (wait > 0) {
      const closing = settler.defer(message);
      const due = await sleep(wait, true, { signal: closing }).catch(() => false);
      if (!due) return; // the worker is closing and has put the message back on the queue
    }
    try {
      const outcome = await this.processor.process(decoded, receivedAt);
      this.outageSince = null;
      if (decoded.ok) settler.ack(message);
      else this.deadLetter(settler, message, `${decoded.rejection.excType}: ${decoded.rejection.reason}`);
      this.metrics.tasks.inc({ status: outcome.status });
      this.metrics.duration.observe((Date.now() - receivedAt.getTime()) / 1000);
      this.logger.debug({ msg: 'Task done', taskId: outcome.taskId, status: outcome.status });
    } catch (error) {
      await this.handleError(error as Error, decoded, message, settler, receivedAt);
    }
  }

  private async handleError(error: Error, decoded: DecodedMessage, message: ConsumeMessage, settler: MessageSettler, receivedAt: Date) {
    const taskId = decoded.ok ? decoded.task.taskId : decoded.rejection.taskId;
    if (isTransientError(error)) {
      // The backoff grows with the outage's age (each round of retries waits about as long as the
      // outage has lasted: 0.5 s doubling), not with the number of failed messages: the whole
      // prefetch window fails at once, and counting each would wait 30 s after a 1 s blip.
      this.outageSince ??= Date.now();
      const delay = Math.min(MAX_RETRY_DELAY_MS, Math.max(500, Date.now() - this.outageSince)) * (0.75 + Math.random() / 2);
      this.logger.warn({ msg: 'Dependency unreachable; requeueing', taskId, error: error.message, retryInMs: Math.round(delay) });
      this.metrics.retries.inc({ reason: 'dependency' });
      await sleep(delay);
      return settler.requeue(message);
    }
    const key = attemptKey(message);
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    if (attempt < this.config.TASK_MAX_ATTEMPTS) {
      this.attempts.set(key, attempt);
      this.logger.error({ msg: 'Task failed; requeueing', taskId, attempt, error: error.message });
      this.metrics.retries.inc({ reason: 'error' });
      return settler.requeue(message);
    }
    this.attempts.delete(key);
    this.logger.error({ msg: 'Task failed for good; dead-lettering', taskId, attempt, error: error.message });
    const taskName = decoded.ok ? decoded.task.taskName : decoded.rejection.taskName;
    await this.processor
      .recordFailure({ taskId, taskName, excType: 'RuntimeError', reason: error.message }, receivedAt)
      .catch((recordError: Error) => this.logger.error({ msg: 'Could not record the failure', taskId, error: recordError.message }));
    this.metrics.tasks.inc({ status: 'FAILURE' });
    this.deadLetter(settler, message, `${error.name}: ${error.message}`);
  }

  private deadLetter(settler: MessageSettler, message: ConsumeMessage, reason: string): void {
    settler.deadLetter(message, reason);
    this.metrics.deadLettered.inc();
  }
}

/** Stable across redeliveries even for a message without an id (its task id is made afresh each time). */
function attemptKey(message: ConsumeMessage): string {
  const { messageId, correlationId } = message.properties;
  return createHash('sha1').update(`${messageId}\0${correlationId}\0`).update(message.content).digest('hex');
}
