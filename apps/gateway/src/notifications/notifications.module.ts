import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { InboxModule } from '../inbox/inbox.module';
import { ConnectionLimits } from './connection-limits';
import { ConnectionPresence } from './connection-presence';
import { GatewayMetrics } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';
import { NotificationGateway } from './notification.gateway';
import { TokenExpiryClock } from './token-expiry';

@Module({
  imports: [FanoutModule, PersistenceModule, InboxModule],
  providers: [
    NotificationGateway,
    GroupSubscriptions,
    { provide: ConnectionPresence, useExisting: GroupSubscriptions },
    ConnectionLimits,
    TokenExpiryClock,
    GatewayMetrics,
  ],
  exports: [ConnectionPresence],
})
export class NotificationsModule {}
