import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { Notification } from './notification.entity';
import { TaskResult } from './task-result.entity';

export const ENTITIES = [TaskResult, Notification];

/** Connection options shared by the apps, the migration runner and the tests. Never `synchronize`. */
export function dataSourceOptions(databaseUrl: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize,
    applicationName: 'notification-service',
  };
}
