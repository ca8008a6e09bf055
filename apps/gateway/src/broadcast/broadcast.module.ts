import { Module } from '@nestjs/common';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { PublishModule } from '../publish/publish.module';
import { BroadcastController } from './broadcast.controller';
import { BroadcastService } from './broadcast.service';

@Module({
  imports: [FanoutModule, PersistenceModule, PublishModule],
  controllers: [BroadcastController],
  providers: [BroadcastService],
})
export class BroadcastModule {}
