import { Module } from '@nestjs/common';
import { PersistenceModule, TaskResultCleaner } from '@app/persistence';
import { DataSource } from 'typeorm';
import { ResultCleanupScheduler } from './result-cleanup.scheduler';

@Module({
  imports: [PersistenceModule],
  providers: [{ provide: TaskResultCleaner, inject: [DataSource], useFactory: (database: DataSource) => new TaskResultCleaner(database) }, ResultCleanupScheduler],
})
export class ResultsModule {}
