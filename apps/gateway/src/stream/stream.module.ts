import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { StreamController } from './stream.controller';
import { StreamKeepAlive } from './stream-keepalive';

/** `GET /api/notifications/stream`: Server-Sent Events, connections like the sockets of `notifications/`. */
@Module({
  imports: [NotificationsModule],
  controllers: [StreamController],
  providers: [StreamKeepAlive],
})
export class StreamModule {}
