import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { NotificationTaskProcessor } from './notification-task.processor';
import { SendNotificationConsumer } from './send-notification.consumer';

@Module({
  imports: [PersistenceModule, FanoutModule],
  controllers: [SendNotificationConsumer],
  providers: [CeleryMessageDecoder, NotificationMessageDecoder, NotificationTaskProcessor],
})
export class NotificationsModule {}
