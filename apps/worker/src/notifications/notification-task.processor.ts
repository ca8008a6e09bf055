import { Injectable, Logger } from '@nestjs/common';
import { AmqpConfig, WorkerConfig } from '@app/config';
import { TaskStatus, broadcastFrameOf, notificationFrameOf, notificationGroup } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import {
  BroadcastRepository,
  InboxRecord,
  InboxWriter,
  NotificationRepository,
  TaskOutcome,
  TaskResultRepository,
  recipientsReportOf,
} from '@app/persistence';
import { PythonException, ResultCacheWriter } from '@app/result-cache';
import type { ExtendedFields, PythonValue } from '@app/result-cache';
import { pythonRepr } from '../celery-node/python-repr';
import type { TaskEnd } from '../celery-node/task-activity';
import {
  BroadcastTask,
  DecodedMessage,
  EXCEPTION_MODULES,
  NotificationTask,
  QueuedTask,
  RejectionType,
  TaskRejection,
} from './notification-task';
import { TaskMetrics } from './task-metrics';

/**
 * What running a message came to: its result row is written (`done`, with how it ended as Celery's
 * events tell it), or its task id holds another task's notification (`conflict`: nothing was
 * written or delivered for it).
 */
export type TaskRun = { status: 'done'; taskStatus: TaskStatus; end: TaskEnd } | { status: 'conflict'; taskId: string };

/**
 * Runs one decoded message to its result row. A notification is stored in the inbox of each of its
 * users (one row each) in the same transaction as its SUCCESS row, and only then fanned out
 * through Redis, each user's copy to that user's group only, so nothing is ever
 * delivered that a reconnecting client could not fetch again. Throws for faults (database or Redis
 * unreachable), which the caller retries; bad input becomes a FAILURE row and an expired task a
 * REVOKED one, and both resolve normally.
 *
 * With django-cache in RESULT_BACKENDS each result is also written to the Django app's cache, after
 * its row (a reader never sees a result the table does not hold); that write never fails a task.
 */
@Injectable()
export class NotificationTaskProcessor {
  private readonly logger = new Logger(NotificationTaskProcessor.name);

  constructor(
    private readonly fanout: RedisFanout,
    private readonly results: TaskResultRepository,
    private readonly writer: InboxWriter,
    private readonly inbox: NotificationRepository,
    private readonly config: WorkerConfig,
    private readonly cache: ResultCacheWriter,
    private readonly amqp: AmqpConfig,
    private readonly broadcasts: BroadcastRepository,
    private readonly metrics: TaskMetrics,
  ) {}

  async process(decoded: DecodedMessage, receivedAt: Date): Promise<TaskRun> {
    if (decoded.ok) return this.run(decoded.task, receivedAt);
    const failure = await this.recordFailure(decoded.rejection, receivedAt);
    return { status: 'done', taskStatus: TaskStatus.Failure, end: failureEnd(decoded.rejection, failure.traceback) };
  }

  /** Records a task revoked with Celery's `revoke` as Celery does: REVOKED, `TaskRevokedError('revoked')`. */
  async recordRevoked(task: QueuedTask, receivedAt: Date): Promise<TaskRun> {
    await this.recordRevocation(task, receivedAt, 'revoked');
    return { status: 'done', taskStatus: TaskStatus.Revoked, end: { status: 'REVOKED', expired: false } };
  }

  /** Records a FAILURE for a message that could not be processed at all (see the consumer). */
  async recordFailure(rejection: TaskRejection, receivedAt: Date): Promise<TaskOutcome> {
    const failure = this.failure(rejection, receivedAt);
    // As Celery's store: a task id whose SUCCESS is recorded keeps it, in the cache as in the table.
    if (await this.results.record(failure))
      await this.cached(failure, exceptionOf(rejection.excType, rejection.reason), this.extendedOf(rejection));
    return failure;
  }

  private async run(task: QueuedTask, receivedAt: Date): Promise<TaskRun> {
    // A task stored before it expired (a redelivery after a crash) is done, not revoked: its
    // notification exists and is published again below.
    if (task.expires && task.expires.getTime() <= Date.now() && !(await this.inbox.holdsTask(task.taskId))) {
      await this.recordRevocation(task, receivedAt, 'expired');
      return { status: 'done', taskStatus: TaskStatus.Revoked, end: { status: 'REVOKED', expired: true } };
    }
    // As Celery's task_track_started: a STARTED row (with date_started) while the task runs.
    if (this.config.CELERY_TRACK_STARTED) {
      const started = { ...this.row(task, receivedAt), status: TaskStatus.Started, result: this.startedResult() };
      if (await this.results.record(started))
        await this.cached(started, { pid: process.pid, hostname: this.config.WORKER_NAME }, this.extendedOf(task));
    }

    if ('broadcast' in task) return this.runBroadcast(task, receivedAt);

    const stored = await this.writer.storeWithResult(
      {
        userIds: task.recipients,
        listsRecipients: task.listsRecipients,
        taskId: task.taskId,
        messageJson: task.messageJson,
      },
      this.row(task, receivedAt),
    );
    if (stored.status === 'conflict') return stored;
    // A redelivered task publishes its stored notifications again, with the same ids and seqs: the
    // gateways drop them for sockets that have them, so delivery is never lost between commit and
    // publish. Published in one turn, the publishes go to Redis as one command (PublishBatcher).
    const published = stored.notifications.map((notification, index) =>
      this.fanout.publish(notificationGroup(task.recipients[index]), notificationFrameOf(notification)),
    );
    const report = this.reportOf(task, stored.notifications);
    await Promise.all([
      ...published,
      this.cached({ taskId: task.taskId, status: TaskStatus.Success }, report.cached, this.extendedOf(task)),
    ]);
    return { status: 'done', taskStatus: TaskStatus.Success, end: { status: 'SUCCESS', result: report.result } };
  }

  /**
   * The task's result as its row holds it (built with its row), for Celery's events and the
   * Django cache: the notification and its group for one user (`user_id`), the count and the
   * groups for a list (`user_ids`).
   */
  private reportOf(task: NotificationTask, notifications: InboxRecord[]): { result: unknown; cached: PythonValue } {
    if (task.listsRecipients) {
      const report = recipientsReportOf(task.recipients);
      return { result: report, cached: report };
    }
    const group = notificationGroup(task.recipients[0]);
    const id = notifications[0].id;
    return { result: { notification_id: Number(id), group }, cached: { notification_id: BigInt(id), group } };
  }

  /**
   * A broadcast is stored in its own table with its SUCCESS row, then published to every gateway.
   * A redelivery publishes the stored one again, as a notification is: gateways send each id once.
   */
  private async runBroadcast(task: BroadcastTask, receivedAt: Date): Promise<TaskRun> {
    const stored = await this.broadcasts.storeWithResult(task.taskId, task.messageJson, this.row(task, receivedAt));
    if (stored.status === 'conflict') return stored;
    const id = Number(stored.broadcast.id);
    await Promise.all([
      this.fanout.publishBroadcast(broadcastFrameOf(stored.broadcast)),
      this.cached(
        { taskId: task.taskId, status: TaskStatus.Success },
        { broadcast_id: BigInt(id) },
        this.extendedOf(task),
      ),
    ]);
    if (!stored.redelivered) this.metrics.broadcastsPublished.inc();
    return { status: 'done', taskStatus: TaskStatus.Success, end: { status: 'SUCCESS', result: { broadcast_id: id } } };
  }

  private async recordRevocation(task: QueuedTask, receivedAt: Date, reason: 'expired' | 'revoked'): Promise<void> {
    const revoked = this.revoked(task, receivedAt, reason);
    if (await this.results.record(revoked)) {
      const exception = new PythonException('celery.exceptions', 'TaskRevokedError', [reason]);
      await this.cached(revoked, exception, this.extendedOf(task));
    }
  }

  /** The outcome's copy in the Django cache, when RESULT_BACKENDS has django-cache (never throws). */
  private cached(
    outcome: Pick<TaskOutcome, 'taskId' | 'status' | 'traceback'>,
    result: PythonValue,
    extended: ExtendedFields | undefined,
  ): Promise<void> {
    if (!this.cache.enabled) return Promise.resolve();
    const ready = outcome.status !== TaskStatus.Started;
    return this.cache.write({
      taskId: outcome.taskId,
      status: outcome.status,
      result,
      traceback: outcome.traceback ?? null,
      doneAt: ready ? new Date() : null,
      extended,
    });
  }

  /**
   * The cached result's extended fields when CELERY_RESULT_EXTENDED is on: the arguments as the
   * message carried them (none for a message that could not be read as a task).
   */
  private extendedOf(task: QueuedTask | TaskRejection): ExtendedFields | undefined {
    if (!this.config.CELERY_RESULT_EXTENDED) return undefined;
    const isTask = 'args' in task;
    return {
      name: task.taskName,
      args: isTask ? (task.args as PythonValue[]) : null,
      kwargs: isTask ? (task.kwargs as Record<string, PythonValue>) : null,
      worker: this.config.WORKER_NAME,
      retries: isTask ? task.retries : 0,
      queue: this.amqp.AMQP_QUEUE,
    };
  }

  /** What Celery stores as the result of a STARTED task. */
  private startedResult(): string {
    return JSON.stringify({ pid: process.pid, hostname: this.config.WORKER_NAME });
  }

  /**
   * Celery marks a revoked task REVOKED with TaskRevokedError('revoked'), an expired one with
   * TaskRevokedError('expired'), and never runs either (celery/worker/request.py `_announce_revoked`).
   */
  private revoked(task: QueuedTask, receivedAt: Date, reason: 'expired' | 'revoked'): TaskOutcome {
    this.logger.warn({ msg: `Task ${reason}: not run`, taskId: task.taskId, expires: task.expires });
    const error = { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' };
    return { ...this.row(task, receivedAt), status: TaskStatus.Revoked, result: JSON.stringify(error) };
  }

  private row(task: QueuedTask, receivedAt: Date): Omit<TaskOutcome, 'status' | 'result'> {
    return {
      taskId: task.taskId,
      taskName: task.taskName,
      taskArgs: task.taskArgs,
      taskKwargs: task.taskKwargs,
      worker: this.config.WORKER_NAME,
      receivedAt,
    };
  }

  private failure(rejection: TaskRejection, receivedAt: Date): TaskOutcome {
    this.logger.warn({
      msg: 'Task rejected',
      taskId: rejection.taskId,
      excType: rejection.excType,
      reason: rejection.quotesMessage ? '(quotes the message body; logged at debug)' : rejection.reason,
    });
    if (rejection.quotesMessage)
      this.logger.debug({ msg: 'Task rejected', taskId: rejection.taskId, reason: rejection.reason });
    return {
      taskId: rejection.taskId,
      status: TaskStatus.Failure,
      result: JSON.stringify({
        exc_type: rejection.excType,
        exc_message: [rejection.reason],
        exc_module: EXCEPTION_MODULES[rejection.excType],
      }),
      traceback: tracebackOf(rejection.excType, rejection.reason),
      taskName: rejection.taskName,
      taskArgs: null,
      taskKwargs: null,
      worker: this.config.WORKER_NAME,
      receivedAt,
    };
  }
}

/** The exception a rejection is recorded with, as Celery's pickle serializer keeps it. */
function exceptionOf(excType: RejectionType, reason: string): PythonException {
  return new PythonException(EXCEPTION_MODULES[excType], excType, [reason]);
}

/** The last line of the traceback Python would print: there is no Python stack to show. */
function tracebackOf(excType: RejectionType, reason: string): string {
  return `${EXCEPTION_MODULES[excType]}.${excType}: ${reason}`;
}

/** A rejection as Celery's task-failed event shows it: the exception's repr, and the traceback. */
export function failureEnd(
  rejection: Pick<TaskRejection, 'excType' | 'reason'>,
  traceback: string | null | undefined,
): TaskEnd {
  return {
    status: 'FAILURE',
    exception: `${rejection.excType}(${pythonRepr(rejection.reason)})`,
    traceback: traceback ?? '',
  };
}
