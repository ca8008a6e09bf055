import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { InboxController } from './inbox.controller';
import { ReadReceipts } from './read-receipts.service';

@Module({
  imports: [AuthModule, PersistenceModule, FanoutModule],
  controllers: [InboxController],
  providers: [ReadReceipts],
  exports: [ReadReceipts],
})
export class InboxModule {}
