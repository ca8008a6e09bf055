import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { NotificationTaskProcessor } from './notification-task.processor';
import { SendNotificationConsumer } from './send-notification.consumer';
import { TaskMetrics } from './task-metrics';

@Module({
  imports: [PersistenceModule, FanoutModule],
  controllers: [SendNotificationConsumer],
  providers: [CeleryMessageDecoder, NotificationMessageDecoder, NotificationTaskProcessor, TaskMetrics],
})
export class NotificationsModule {}
