import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import type { AppConfig } from '@app/config';
import { MetricsModule, MetricsRegistry } from '@app/metrics';
import { LoggingModule } from '@app/runtime';
import { BroadcastRetentionModule } from './broadcast-retention/broadcast-retention.module';
import { HealthModule } from './health/health.module';
import { InboxPartitionsModule } from './inbox-partitions/inbox-partitions.module';
import { NotificationsModule } from './notifications/notifications.module';
import { registerQueueMetrics } from './queue-metrics';
import { ResultsModule } from './results/results.module';
import type { TaskQueueServer } from './task-queue.server';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, consumer: TaskQueueServer): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, 'worker'),
        MetricsModule.forRoot('worker'),
        NotificationsModule,
        InboxPartitionsModule,
        BroadcastRetentionModule,
        HealthModule.forRoot(consumer),
        ResultsModule,
      ],
      providers: [
        {
          provide: 'QUEUE_METRICS',
          inject: [MetricsRegistry],
          useFactory: (metrics: MetricsRegistry) => registerQueueMetrics(metrics, consumer),
        },
      ],
    };
  }
}
