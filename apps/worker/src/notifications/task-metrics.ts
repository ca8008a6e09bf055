import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@app/metrics';

/** What the worker counts; every label comes from a small fixed set. */
@Injectable()
export class TaskMetrics {
  readonly tasks;
  readonly duration;
  readonly retries;
  readonly deadLettered;
  readonly conflicts;
  readonly deferred;
  readonly broadcastsPublished;
  readonly recipients;
  /** One child counter per status, looked up once: labels are hashed on every `inc({...})`. */
  private readonly byStatus = new Map<string, { inc(): void }>();

  constructor(metrics: MetricsRegistry) {
    this.tasks = metrics.counter({
      name: 'notify_tasks_total',
      help: 'Tasks finished, by status',
      labelNames: ['status'] as const,
    });
    this.duration = metrics.histogram({
      name: 'notify_task_duration_seconds',
      help: 'From receiving a message to settling it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    });
    this.retries = metrics.counter({
      name: 'notify_task_retries_total',
      help: 'Messages put back on the queue: dependency (Postgres or Redis unreachable) or error',
      labelNames: ['reason'] as const,
    });
    this.deadLettered = metrics.counter({
      name: 'notify_dead_lettered_total',
      help: 'Messages moved to the dead-letter queue',
    });
    this.conflicts = metrics.counter({
      name: 'notify_task_id_conflicts_total',
      help: "Messages dead-lettered because their task id holds another user's or another message's notification",
    });
    this.deferred = metrics.counter({
      name: 'notify_tasks_deferred_total',
      help: 'Celery tasks stored in Postgres until their eta',
    });
    this.broadcastsPublished = metrics
      .counter({
        name: 'notify_broadcasts_published_total',
        help: 'Broadcasts stored and published, by the way they came in',
        labelNames: ['via'] as const,
      })
      .labels('amqp');
    this.recipients = metrics.histogram({
      name: 'notify_task_recipients',
      help: 'Users each successful task notified: 1 for user_id, the length of user_ids',
      buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000],
    });
  }

  /** A task ended with `status` (SUCCESS, FAILURE, REVOKED); it was received at `receivedAt`. */
  finished(status: string, receivedAt: Date): void {
    let counter = this.byStatus.get(status);
    if (!counter) this.byStatus.set(status, (counter = this.tasks.labels(status)));
    counter.inc();
    this.duration.observe((Date.now() - receivedAt.getTime()) / 1000);
  }
}
