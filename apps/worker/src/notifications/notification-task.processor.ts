import { Injectable, Logger } from '@nestjs/common';
import { WorkerConfig } from '@app/config';
import { TaskStatus, notificationFrameOf, notificationGroup } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { InboxWriter, NotificationRepository, TaskOutcome, TaskResultRepository } from '@app/persistence';
import { DecodedMessage, EXCEPTION_MODULES, NotificationTask, TaskRejection } from './notification-task';

/**
 * What running a message came to: its result row is written (`done`), or its task id holds another
 * task's notification (`conflict`: nothing was written or delivered for it).
 */
export type TaskRun = { status: 'done'; taskStatus: TaskStatus } | { status: 'conflict'; taskId: string };

/**
 * Runs one decoded message to its result row. A notification is stored in the user's inbox in the
 * same transaction as its SUCCESS row, and only then fanned out through Redis, so nothing is ever
 * delivered that a reconnecting client could not fetch again. Throws for faults (database or Redis
 * unreachable), which the caller retries; bad input becomes a FAILURE row and an expired task a
 * REVOKED one, and both resolve normally.
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
  ) {}

  async process(decoded: DecodedMessage, receivedAt: Date): Promise<TaskRun> {
    if (decoded.ok) return this.run(decoded.task, receivedAt);
    await this.results.record(this.failure(decoded.rejection, receivedAt));
    return { status: 'done', taskStatus: TaskStatus.Failure };
  }

  /** Records a FAILURE for a message that could not be processed at all (see the consumer). */
  async recordFailure(rejection: TaskRejection, receivedAt: Date): Promise<void> {
    await this.results.record(this.failure(rejection, receivedAt));
  }

  private async run(task: NotificationTask, receivedAt: Date): Promise<TaskRun> {
    // A task stored before it expired (a redelivery after a crash) is done, not revoked: its
    // notification exists and is published again below.
    if (task.expires && task.expires.getTime() <= Date.now() && !(await this.inbox.holdsTask(task.taskId))) {
      await this.results.record(this.revoked(task, receivedAt));
      return { status: 'done', taskStatus: TaskStatus.Revoked };
    }
    // As Celery's task_track_started: a STARTED row (with date_started) while the task runs.
    if (this.config.CELERY_TRACK_STARTED)
      await this.results.record({
        ...this.row(task, receivedAt),
        status: TaskStatus.Started,
        result: this.startedResult(),
      });

    const row = this.row(task, receivedAt);
    const stored = await this.writer.storeWithResult(
      { userId: task.userId, taskId: task.taskId, messageJson: task.messageJson },
      row,
    );
    if (stored.status === 'conflict') return stored;
    // A redelivered task publishes its stored notification again, with the same id and seq: the
    // gateways drop it for sockets that have it, so delivery is never lost between commit and publish.
    await this.fanout.publish(notificationGroup(task.userId), notificationFrameOf(stored.notification));
    return { status: 'done', taskStatus: TaskStatus.Success };
  }

  /** What Celery stores as the result of a STARTED task. */
  private startedResult(): string {
    return JSON.stringify({ pid: process.pid, hostname: this.config.WORKER_NAME });
  }

  /** Celery marks an expired task REVOKED with TaskRevokedError('expired') and never runs it. */
  private revoked(task: NotificationTask, receivedAt: Date): TaskOutcome {
    this.logger.warn({ msg: 'Task expired before it ran', taskId: task.taskId, expires: task.expires });
    const error = { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' };
    return { ...this.row(task, receivedAt), status: TaskStatus.Revoked, result: JSON.stringify(error) };
  }

  private row(task: NotificationTask, receivedAt: Date): Omit<TaskOutcome, 'status' | 'result'> {
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
      traceback: `${EXCEPTION_MODULES[rejection.excType]}.${rejection.excType}: ${rejection.reason}`,
      taskName: rejection.taskName,
      taskArgs: null,
      taskKwargs: null,
      worker: this.config.WORKER_NAME,
      receivedAt,
    };
  }
}
