import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import type { AppConfig } from '@app/config';
import type { AmqpConnectionState } from '@app/health';
import { LoggingModule } from '@app/runtime';
import { HealthModule } from './health/health.module';
import { InboxRetentionModule } from './inbox-retention/inbox-retention.module';
import { NotificationsModule } from './notifications/notifications.module';
import { ResultsModule } from './results/results.module';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, consumer: AmqpConnectionState): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(config, 'worker'), NotificationsModule, InboxRetentionModule, HealthModule.forRoot(consumer), ResultsModule],
    };
  }
}
