import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { PublishModule } from '../publish/publish.module';
import { PresenceController } from './presence.controller';

/** `GET /api/presence`: answered from Redis (`ClusterPresence`), for services and admins. */
@Module({
  imports: [NotificationsModule, PublishModule],
  controllers: [PresenceController],
})
export class PresenceModule {}
