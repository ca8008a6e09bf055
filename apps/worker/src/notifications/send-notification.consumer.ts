import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, RmqContext } from '@nestjs/microservices';
import { WorkerConfig } from '@app/config';
import { TaskStatus } from '@app/contracts';
import type { ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { KnownTask, TaskActivity } from '../celery-node/task-activity';
import { RevokedTasks } from '../control/revoked-tasks';
import { ATTEMPTS_HEADER, MessageSettler, settlerOf } from '../task-queue.server';
import { DeferredTasks } from './deferred-tasks';
import { knownTaskOf } from './known-task';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { DecodedMessage, SEND_NOTIFICATION_PATTERN } from './notification-task';
import { NotificationTaskProcessor, TaskRun, failureEnd } from './notification-task.processor';
import { TaskMetrics } from './task-metrics';
import { isTransientError } from './transient-error';

const MAX_RETRY_DELAY_MS = 30_000;

/** The `x-dead-letter-reason` of a message whose task id holds another task's notification. */
export const TASK_ID_CONFLICT = 'task_id_conflict';

/**
 * The queue's entry point: runs each message and settles it with the broker. Every delivery ends
 * in one of three ways, whatever its bytes and headers, and nothing thrown on the way escapes:
 * - acked, once its result row is committed (and its notification published);
 * - requeued after a backoff while Postgres or Redis is unreachable (never marked FAILURE for that);
 * - dead-lettered: bad input and tasks that failed `TASK_MAX_ATTEMPTS` times, with a FAILURE row;
 *   a task id that holds another task's notification, with that task's row left as it is.
 * A task revoked with Celery's `revoke` is not run, whether it arrives revoked or is revoked while
 * it waits for its eta: it is recorded REVOKED and acked. Each step is told to `TaskActivity`
 * (remote control, events).
 */
@Controller()
export class SendNotificationConsumer {
  private readonly logger = new Logger(SendNotificationConsumer.name);
  /** When the current outage began: the first transient failure since the last success. */
  private outageSince: number | null = null;

  constructor(
    private readonly decoder: NotificationMessageDecoder,
    private readonly processor: NotificationTaskProcessor,
    private readonly deferred: DeferredTasks,
    private readonly config: WorkerConfig,
    private readonly metrics: TaskMetrics,
    private readonly activity: TaskActivity,
    private readonly revoked: RevokedTasks,
  ) {}

  @EventPattern(SEND_NOTIFICATION_PATTERN)
  async consume(@Ctx() context: RmqContext): Promise<void> {
    const message = context.getMessage() as ConsumeMessage;
    const settler = settlerOf(context);
    const receivedAt = new Date();
    const decoded = this.decoder.decode(message);
    const known = decoded.ok ? knownTaskOf(decoded.task, message) : null;
    if (known) this.activity.received(known);
    try {
      try {
        const deferred = decoded.ok && decoded.task.eta !== null && !(await this.isRevoked(known));
        if (deferred && (await this.deferred.holdUntilDue(decoded.task, message, settler, known!)) === 'not-now') {
          if (known) this.activity.abandoned(known.taskId);
          return;
        }
        const run = await this.run(decoded, known, receivedAt);
        this.outageSince = null;
        this.settle(run, decoded, message, settler, receivedAt);
      } catch (error) {
        if (known) this.activity.abandoned(known.taskId);
        await this.handleError(toError(error), decoded, message, settler, receivedAt);
      }
    } catch (error) {
      // A defect here, not in the message: it must still not hold the delivery for good.
      this.logger.error({ msg: 'Consumer failed; requeueing', error: toError(error).message });
      await sleep(MAX_RETRY_DELAY_MS, undefined, { signal: settler.closing }).catch(() => undefined);
      settler.requeue(message);
    }
  }

  private async run(decoded: DecodedMessage, known: KnownTask | null, receivedAt: Date): Promise<TaskRun> {
    if (decoded.ok && (await this.isRevoked(known))) return this.processor.recordRevoked(decoded.task, receivedAt);
    if (known) this.activity.started(known);
    return this.processor.process(decoded, receivedAt);
  }

  private isRevoked(known: KnownTask | null): Promise<boolean> {
    return known ? this.revoked.isRevoked(known.taskId) : Promise.resolve(false);
  }

  private settle(
    run: TaskRun,
    decoded: DecodedMessage,
    message: ConsumeMessage,
    settler: MessageSettler,
    receivedAt: Date,
  ): void {
    if (run.status === 'conflict') {
      this.logger.warn({
        msg: 'Task id holds another task; dead-lettering',
        taskId: run.taskId,
        reason: TASK_ID_CONFLICT,
      });
      this.metrics.conflicts.inc();
      this.deadLetter(settler, message, TASK_ID_CONFLICT);
      this.activity.ended(run.taskId, { status: 'REJECTED' });
      return;
    }
    this.activity.ended(decoded.ok ? decoded.task.taskId : decoded.rejection.taskId, run.end);
    if (decoded.ok) settler.ack(message);
    // A broadcast has no list: it goes to whoever is connected.
    if (decoded.ok && run.taskStatus === TaskStatus.Success && 'recipients' in decoded.task)
      this.metrics.recipients.observe(decoded.task.recipients.length);
    if (!decoded.ok) this.deadLetter(settler, message, `${decoded.rejection.excType}: ${decoded.rejection.reason}`);
    this.metrics.finished(run.taskStatus, receivedAt);
  }

  private async handleError(
    error: Error,
    decoded: DecodedMessage,
    message: ConsumeMessage,
    settler: MessageSettler,
    receivedAt: Date,
  ): Promise<void> {
    const taskId = decoded.ok ? decoded.task.taskId : decoded.rejection.taskId;
    if (isTransientError(error)) return this.requeueAfterBackoff(error, taskId, message, settler);
    const attempts = attemptsOf(message) + 1;
    if (attempts < this.config.TASK_MAX_ATTEMPTS) {
      this.logger.error({ msg: 'Task failed; retrying', taskId, attempts, error: error.message });
      this.metrics.retries.inc({ reason: 'error' });
      return settler.retry(message, attempts);
    }
    const taskName = decoded.ok ? decoded.task.taskName : decoded.rejection.taskName;
    try {
      await this.processor.recordFailure(
        { taskId, taskName, excType: 'RuntimeError', reason: error.message, quotesMessage: false },
        receivedAt,
      );
    } catch (recordError) {
      // Dead-lettered only with its FAILURE row: while that cannot be written, the message waits.
      if (isTransientError(toError(recordError)))
        return this.requeueAfterBackoff(toError(recordError), taskId, message, settler);
      this.logger.error({ msg: 'Could not record the failure', taskId, error: toError(recordError).message });
    }
    this.logger.error({ msg: 'Task failed for good; dead-lettering', taskId, attempts, error: error.message });
    this.activity.ended(taskId, failureEnd({ excType: 'RuntimeError', reason: error.message }, error.stack));
    this.metrics.finished('FAILURE', receivedAt);
    this.deadLetter(settler, message, `${error.name}: ${error.message}`);
  }

  /**
   * The backoff grows with the outage's age (each round of retries waits about as long as the
   * outage has lasted: 0.5 s doubling), not with the number of failed messages: the whole prefetch
   * window fails at once, and counting each would wait 30 s after a 1 s blip. A closing worker
   * cuts the wait short: the message goes back to the queue at once.
   */
  private async requeueAfterBackoff(
    error: Error,
    taskId: string,
    message: ConsumeMessage,
    settler: MessageSettler,
  ): Promise<void> {
    this.outageSince ??= Date.now();
    const delay =
      Math.min(MAX_RETRY_DELAY_MS, Math.max(500, Date.now() - this.outageSince)) * (0.75 + Math.random() / 2);
    this.logger.warn({
      msg: 'Dependency unreachable; requeueing',
      taskId,
      error: error.message,
      retryInMs: Math.round(delay),
    });
    this.metrics.retries.inc({ reason: 'dependency' });
    await sleep(delay, undefined, { signal: settler.closing }).catch(() => undefined);
    settler.requeue(message);
  }

  private deadLetter(settler: MessageSettler, message: ConsumeMessage, reason: string): void {
    settler.deadLetter(message, reason);
    this.metrics.deadLettered.inc();
  }
}

/** How many times this message failed before, as its last retry wrote it (0 for a first delivery). */
function attemptsOf(message: ConsumeMessage): number {
  const attempts = Number(message.properties.headers?.[ATTEMPTS_HEADER]);
  return Number.isSafeInteger(attempts) && attempts > 0 ? attempts : 0;
}

/**
 * Anything thrown, as an Error (a library may throw a string or a plain object). Not `instanceof`:
 * an error made in another realm (a vm context, as under jest) is no instance of this one's Error.
 */
function toError(thrown: unknown): Error {
  if (typeof thrown === 'object' && thrown !== null && typeof (thrown as { message?: unknown }).message === 'string')
    return thrown as Error;
  return new Error(typeof thrown === 'string' ? thrown : 'Unknown error');
}
