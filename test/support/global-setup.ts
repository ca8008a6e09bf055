import { parseAppConfig } from '@app/config';
import { migrateDatabase } from '@app/persistence';
import { randomBytes } from 'node:crypto';

/**
 * One database and one Redis channel prefix per jest run, so runs (and developers) never share
 * state. Written to process.env, which the test files and the processes they spawn inherit.
 */
export default async function globalSetup(): Promise<void> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const base = parseAppConfig(process.env);
  const databaseUrl = new URL(base.DATABASE_URL);
  databaseUrl.pathname = `/notify_test_${runId}`;
  process.env.TEST_RUN_ID = runId;
  process.env.DATABASE_URL = databaseUrl.toString();
  process.env.REDIS_CHANNEL_PREFIX = `test:${runId}:`;
  // At least 32 bytes: the config refuses shorter HMAC secrets outside NODE_ENV=development.
  process.env.JWT_SECRET = 'integration-test-secret-0123456789abcdef';
  // Workers in tests serve their probes on a free port: fixed ports collide between runs.
  process.env.WORKER_HTTP_PORT = '0';
  process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'silent';
  await migrateDatabase(process.env.DATABASE_URL);
}
