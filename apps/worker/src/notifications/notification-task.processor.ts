import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { TaskStatus, notificationGroup, serializeNotificationFrame } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { TaskOutcome, TaskResultRepository } from '@app/persistence';
import { randomUUID } from 'node:crypto';
import { DecodedMessage, EXCEPTION_MODULES, NotificationTask, TaskRejection } from './notification-task';

/** What `send_notification` returns; stored as the SUCCESS row's `result`. */
export interface DeliveryReport {
  notification_id: string;
  group: string;
  /** Gateway instances subscribed to the group when it was published; 0 means the user was offline. */
  gateways: number;
}

/**
 * Runs one decoded message to its result row: fan out through Redis, record. Throws only for
 * transient faults (database or Redis unreachable), which the caller retries; bad input becomes a
 * FAILURE row and an expired task a REVOKED one, and both resolve normally.
 */
@Injectable()
export class NotificationTaskProcessor {
  private readonly logger = new Logger(NotificationTaskProcessor.name);

  constructor(
    private readonly fanout: RedisFanout,
    private readonly results: TaskResultRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async process(decoded: DecodedMessage, receivedAt: Date): Promise<TaskOutcome> {
    const outcome = decoded.ok ? await this.run(decoded.task, receivedAt) : this.failure(decoded.rejection, receivedAt);
    await this.results.record(outcome);
    return outcome;
  }

  private async run(task: NotificationTask, receivedAt: Date): Promise<TaskOutcome> {
    if (task.expires && task.expires.getTime() <= Date.now()) return this.revoked(task, receivedAt);
    // As Celery's task_track_started: a STARTED row (with date_started) while the task runs.
    if (this.config.CELERY_TRACK_STARTED) await this.results.record({ ...this.row(task, receivedAt), status: TaskStatus.Started, result: this.startedResult() });
    const report = await this.deliver(task);
    return { ...this.row(task, receivedAt), status: TaskStatus.Success, result: JSON.stringify(report) };
  }

  private async deliver(task: NotificationTask): Promise<DeliveryReport> {
    const group = notificationGroup(task.userId);
    const notificationId = randomUUID();
    const frame = serializeNotificationFrame({
      id: notificationId,
      task_id: task.taskId,
      created_at: new Date().toISOString(),
      message: task.message,
    });
    const gateways = await this.fanout.publish(group, frame);
    this.logger.debug({ msg: 'Notification published', taskId: task.taskId, group, gateways });
    return { notification_id: notificationId, group, gateways };
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
    this.logger.warn({ msg: 'Task rejected', taskId: rejection.taskId, excType: rejection.excType, reason: rejection.reason });
    return {
      taskId: rejection.taskId,
      status: TaskStatus.Failure,
      result: JSON.stringify({ exc_type: rejection.excType, exc_message: [rejection.reason], exc_module: EXCEPTION_MODULES[rejection.excType] }),
      traceback: `${EXCEPTION_MODULES[rejection.excType]}.${rejection.excType}: ${rejection.reason}`,
      taskName: rejection.taskName,
      taskArgs: null,
      taskKwargs: null,
      worker: this.config.WORKER_NAME,
      receivedAt,
    };
  }
}
