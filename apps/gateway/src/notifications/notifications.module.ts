import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { InboxModule } from '../inbox/inbox.module';
import { ConnectionLimits } from './connection-limits';
import { GatewayMetrics } from './gateway-metrics';
import { NotificationResume } from './notification-resume.service';
import { NotificationGateway } from './notification.gateway';
import { SocketGroups } from './socket-groups';

@Module({
  imports: [FanoutModule, InboxModule],
  providers: [NotificationGateway, SocketGroups, NotificationResume, ConnectionLimits, GatewayMetrics],
})
export class NotificationsModule {}
