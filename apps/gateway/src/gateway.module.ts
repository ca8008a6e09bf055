import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { ConfigModule } from '@app/config';
import type { AppConfig } from '@app/config';
import { MetricsModule } from '@app/metrics';
import { LoggingModule } from '@app/runtime';
import { BroadcastModule } from './broadcast/broadcast.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { DemoModule } from './demo/demo.module';
import { HealthModule } from './health/health.module';
import { InboxModule } from './inbox/inbox.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PresenceModule } from './presence/presence.module';
import { PublishModule } from './publish/publish.module';
import { SessionsModule } from './sessions/sessions.module';
import { StreamModule } from './stream/stream.module';
import { TasksModule } from './tasks/tasks.module';

@Module({})
export class GatewayModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, 'gateway'),
        MetricsModule.forRoot('gateway'),
        AuthModule,
        NotificationsModule,
        InboxModule,
        TasksModule,
        HealthModule,
        PublishModule,
        BroadcastModule,
        SessionsModule,
        StreamModule,
        PresenceModule,
        DashboardModule,
        DeadLettersModule,
        DemoModule.forRoot(config),
      ],
    };
  }
}
