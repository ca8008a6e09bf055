import { Module } from '@nestjs/common';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { dataSourceOptions } from './data-source-options';
import { BroadcastRepository } from './broadcast.repository';
import { DeferredTaskRepository } from './deferred-task.repository';
import { InboxPartitions } from './inbox-partitions';
import { InboxWriter } from './inbox-writer';
import { LagTolerantReads } from './lag-tolerant-reads';
import { Notification } from './notification.entity';
import { NotificationRepository } from './notification.repository';
import { RevokedTaskRepository } from './revoked-task.repository';
import { TaskResultCleaner } from './task-result-cleaner';
import { TaskResult } from './task-result.entity';
import { TaskStatsQueries } from './task-stats.queries';
import { TokenCutoffRepository } from './token-cutoff.repository';
import { TaskResultRepository } from './task-result.repository';

/**
 * The Postgres connection (and the optional replica, `LagTolerantReads`) and the repositories over
 * it. Needs `ConfigModule` in the app.
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [DatabaseConfig],
      useFactory: (config: DatabaseConfig) => dataSourceOptions(config.DATABASE_URL, config.DATABASE_POOL_SIZE),
    }),
    TypeOrmModule.forFeature([TaskResult, Notification]),
  ],
  providers: [
    {
      provide: LagTolerantReads,
      inject: [getDataSourceToken(), DatabaseConfig, { token: MetricsRegistry, optional: true }],
      useFactory: (primary: DataSource, config: DatabaseConfig, metrics?: MetricsRegistry) =>
        new LagTolerantReads(primary, config.DATABASE_REPLICA_URL, config.DATABASE_POOL_SIZE, metrics),
    },
    TaskResultRepository,
    NotificationRepository,
    InboxWriter,
    InboxPartitions,
    DeferredTaskRepository,
    RevokedTaskRepository,
    TaskStatsQueries,
    TaskResultCleaner,
    TokenCutoffRepository,
    BroadcastRepository,
  ],
  exports: [
    TaskResultRepository,
    NotificationRepository,
    InboxWriter,
    InboxPartitions,
    DeferredTaskRepository,
    RevokedTaskRepository,
    TaskStatsQueries,
    TaskResultCleaner,
    TokenCutoffRepository,
    BroadcastRepository,
  ],
})
export class PersistenceModule {}
