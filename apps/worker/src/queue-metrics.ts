import type { MetricsRegistry } from '@app/metrics';
import type { TaskQueueServer } from './task-queue.server';

/** Consumer lag, read from the broker when Prometheus scrapes, and the messages this worker holds. */
export function registerQueueMetrics(metrics: MetricsRegistry, consumer: TaskQueueServer): void {
  metrics.gauge({
    name: 'notify_amqp_unacked',
    help: 'Messages delivered to this worker and not yet settled',
    collect() {
      this.set(consumer.unsettledCount);
    },
  });
  metrics.gauge({
    name: 'notify_amqp_queue_depth',
    help: 'Messages waiting on the task queue (consumer lag)',
    async collect() {
      const depth = await consumer.queueDepth().catch(() => null);
      if (depth !== null) this.set(depth);
    },
  });
}
