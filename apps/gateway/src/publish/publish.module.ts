import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PublishingModule } from '@app/publishing';
import { PublishController } from './publish.controller';
import { PublisherAuthGuard } from './publisher-auth.guard';

@Module({
  imports: [AuthModule, PublishingModule],
  controllers: [PublishController],
  providers: [PublisherAuthGuard],
  // Other admin-or-service endpoints (sessions, presence) use the same guard.
  exports: [PublisherAuthGuard, AuthModule],
})
export class PublishModule {}
