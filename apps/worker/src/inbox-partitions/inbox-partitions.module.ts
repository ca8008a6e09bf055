import { Module } from '@nestjs/common';
import { PersistenceModule } from '@app/persistence';
import { InboxPartitionMaintainer } from './inbox-partition-maintainer';

@Module({ imports: [PersistenceModule], providers: [InboxPartitionMaintainer], exports: [InboxPartitionMaintainer] })
export class InboxPartitionsModule {}
