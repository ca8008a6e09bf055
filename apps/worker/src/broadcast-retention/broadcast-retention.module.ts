import { Module } from '@nestjs/common';
import { PersistenceModule } from '@app/persistence';
import { BroadcastRetentionService } from './broadcast-retention.service';

@Module({ imports: [PersistenceModule], providers: [BroadcastRetentionService], exports: [BroadcastRetentionService] })
export class BroadcastRetentionModule {}
