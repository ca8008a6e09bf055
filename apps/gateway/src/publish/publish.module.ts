import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PublishingModule } from '@app/publishing';
import { PublishController } from './publish.controller';
import { PublisherAuthGuard } from './publisher-auth.guard';

@Module({
  imports: [AuthModule, PublishingModule],
  controllers: [PublishController],
  providers: [PublisherAuthGuard],
})
export class PublishModule {}
