export { dataSourceOptions } from './data-source-options';
export { createDatabaseIfMissing, dropDatabase, migrateDatabase } from './database-migrator';
export { PersistenceModule } from './persistence.module';
export { TaskResult } from './task-result.entity';
export { TaskResultCleaner } from './task-result-cleaner';
export type { TaskOutcome, TaskResultFilter, TaskResultOrder } from './task-result.repository';
export { TaskResultRepository } from './task-result.repository';
