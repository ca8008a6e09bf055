import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { InboxModule } from '../inbox/inbox.module';
import { BroadcastFeed } from './broadcast-feed';
import { ClientConnections } from './client-connections';
import { ClusterPresence } from './cluster-presence';
import { ConnectionLimits } from './connection-limits';
import { ConnectionPresence } from './connection-presence';
import { GatewayMetrics } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';
import { HandshakeChecks } from './handshake-checks';
import { NotificationGateway } from './notification.gateway';
import { TokenExpiryClock } from './token-expiry';

@Module({
  imports: [AuthModule, FanoutModule, PersistenceModule, InboxModule],
  providers: [
    NotificationGateway,
    GroupSubscriptions,
    { provide: ConnectionPresence, useExisting: GroupSubscriptions },
    ConnectionLimits,
    HandshakeChecks,
    ClientConnections,
    TokenExpiryClock,
    ClusterPresence,
    GatewayMetrics,
    BroadcastFeed,
  ],
  exports: [
    ConnectionPresence,
    ClusterPresence,
    GroupSubscriptions,
    GatewayMetrics,
    HandshakeChecks,
    ClientConnections,
  ],
})
export class NotificationsModule {}
