import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { NotificationGateway } from './notification.gateway';
import { SocketGroups } from './socket-groups';

@Module({
  imports: [FanoutModule],
  providers: [NotificationGateway, SocketGroups],
})
export class NotificationsModule {}
