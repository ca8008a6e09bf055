import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { PublishingModule } from '@app/publishing';
import { ResultCacheModule } from '@app/result-cache';
import { CeleryNodeModule } from '../celery-node/celery-node.module';
import { ControlModule } from '../control/control.module';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { DeferredTaskScheduler } from './deferred-task.scheduler';
import { DeferredTasks } from './deferred-tasks';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { NotificationTaskProcessor } from './notification-task.processor';
import { SendNotificationConsumer } from './send-notification.consumer';
import { TaskMetrics } from './task-metrics';

@Module({
  imports: [PersistenceModule, FanoutModule, PublishingModule, ResultCacheModule, CeleryNodeModule, ControlModule],
  controllers: [SendNotificationConsumer],
  providers: [
    CeleryMessageDecoder,
    NotificationMessageDecoder,
    NotificationTaskProcessor,
    TaskMetrics,
    DeferredTasks,
    DeferredTaskScheduler,
  ],
})
export class NotificationsModule {}
