import { Module } from '@nestjs/common';
import { PersistenceModule } from '@app/persistence';
import { InboxRetentionService } from './inbox-retention.service';

@Module({ imports: [PersistenceModule], providers: [InboxRetentionService], exports: [InboxRetentionService] })
export class InboxRetentionModule {}
