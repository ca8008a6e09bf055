import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { TaskStatus, notificationGroup, serializeNotificationFrame } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { TaskOutcome, TaskResultRepository } from '@app/persistence';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { NotificationMessageDecoder, NotificationTask, TaskRejection } from './notification-message.decoder';

/** What `send_notification` returns; stored as the SUCCESS row's `result`. */
export interface DeliveryReport {
  notification_id: string;
  group: string;
  /** Gateway instances subscribed to the group when it was published; 0 means the user was offline. */
  gateways: number;
}

/**
 * Runs one queue message to its result row: decode, fan out through Redis, record. Throws only
 * for transient faults (database or Redis unreachable), which the caller retries; bad input
 * becomes a FAILURE row and resolves normally.
 */
@Injectable()
export class NotificationTaskProcessor {
  private readonly logger = new Logger(NotificationTaskProcessor.name);

  constructor(
    private readonly decoder: NotificationMessageDecoder,
    private readonly fanout: RedisFanout,
    private readonly results: TaskResultRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async process(message: ConsumeMessage): Promise<TaskOutcome> {
    const receivedAt = new Date();
    const decoded = this.decoder.decode(message);
    const outcome = decoded.ok
      ? this.success(decoded.task, await this.deliver(decoded.task), receivedAt)
      : this.failure(decoded.rejection, receivedAt);
    await this.results.record(outcome);
    return outcome;
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

  private success(task: NotificationTask, report: DeliveryReport, receivedAt: Date): TaskOutcome {
    return {
      taskId: task.taskId,
      status: TaskStatus.Success,
      result: JSON.stringify(report),
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
      result: JSON.stringify({ exc_type: rejection.excType, exc_message: [rejection.reason], exc_module: rejection.excModule }),
      traceback: `${rejection.excModule}.${rejection.excType}: ${rejection.reason}`,
      taskName: rejection.taskName,
      taskArgs: null,
      taskKwargs: null,
      worker: this.config.WORKER_NAME,
      receivedAt,
    };
  }
}
