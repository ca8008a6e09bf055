import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@app/config';
import type { AppConfig } from '@app/config';
import { LoggingModule } from '@app/runtime';
import { NotificationsModule } from './notifications/notifications.module';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), LoggingModule.forRoot(config, 'worker'), NotificationsModule],
    };
  }
}
