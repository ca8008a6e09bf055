import { Injectable, Logger } from '@nestjs/common';
import { DeferredTaskConfig } from '@app/config';
import { DeferredTaskRepository } from '@app/persistence';
import { republishedProperties } from '@app/publishing';
import type { ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KnownTask } from '../celery-node/task-activity';
import { TaskActivity } from '../celery-node/task-activity';
import type { MessageSettler } from '../task-queue.server';
import type { QueuedTask } from './notification-task';
import { TaskMetrics } from './task-metrics';

/**
 * Celery's `eta`/`countdown`: a task runs no earlier than its eta. One due soon (within
 * `DEFERRED_TASK_HOLD_SECONDS`) waits in memory, unacked, as Celery's worker holds it; one due
 * later is stored in Postgres (`deferred_task`) and acked, and `DeferredTaskScheduler` publishes
 * it again shortly before it is due. Nothing is then held long enough to trip RabbitMQ's
 * `consumer_timeout`, a timer never waits past its 2^31 ms limit, and a restart loses nothing.
 */
@Injectable()
export class DeferredTasks {
  private readonly logger = new Logger(DeferredTasks.name);

  constructor(
    private readonly store: DeferredTaskRepository,
    private readonly config: DeferredTaskConfig,
    private readonly metrics: TaskMetrics,
    private readonly activity: TaskActivity,
  ) {}

  /**
   * Resolves to `due` when the task may run now; to `not-now` once the message is stored and acked,
   * or when the worker closes while it waits (the message is then back on the queue). Throws when
   * it cannot be stored (Postgres down): the caller retries the message.
   */
  async holdUntilDue(
    task: QueuedTask,
    message: ConsumeMessage,
    settler: MessageSettler,
    known: KnownTask,
  ): Promise<'due' | 'not-now'> {
    const wait = task.eta ? task.eta.getTime() - Date.now() : 0;
    if (wait <= 0) return 'due';
    if (wait > this.config.DEFERRED_TASK_HOLD_SECONDS * 1000) {
      await this.store.save({
        taskId: task.taskId,
        taskName: task.taskName,
        eta: task.eta!,
        expires: task.expires,
        content: message.content,
        properties: republishedProperties(message.properties) as Record<string, unknown>,
      });
      settler.ack(message);
      this.metrics.deferred.inc();
      this.logger.log({ msg: 'Task deferred until its eta', taskId: task.taskId, eta: task.eta });
      return 'not-now';
    }
    const closing = settler.defer(message);
    // Listed by `celery inspect scheduled` while it waits here.
    this.activity.holding(known);
    try {
      return (await sleep(wait, true, { signal: closing }).catch(() => false)) ? 'due' : 'not-now';
    } finally {
      this.activity.released(task.taskId);
    }
  }
}
