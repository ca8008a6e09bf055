import { Module } from '@nestjs/common';
import { PersistenceModule } from '@app/persistence';
import { ResultCleanupScheduler } from './result-cleanup.scheduler';

@Module({
  imports: [PersistenceModule],
  providers: [ResultCleanupScheduler],
})
export class ResultsModule {}
