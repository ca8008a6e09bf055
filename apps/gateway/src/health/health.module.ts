import { Module } from '@nestjs/common';
import { HealthChecksModule } from '@app/health';
import { PublishingModule } from '@app/publishing';
import { HealthController } from './health.controller';

@Module({
  imports: [HealthChecksModule, PublishingModule],
  controllers: [HealthController],
})
export class HealthModule {}
