import { randomUUID } from 'node:crypto';
import { taskRow, testConfig, withDatabase } from '@test/support/test-context';
import { createWorker } from '../worker.factory';
import type { WorkerApp } from '../worker.factory';

async function insertResult(ageSeconds: number): Promise<string> {
  const taskId = `cleanup-${randomUUID()}`;
  await withDatabase((db) =>
    db.query(
      `INSERT INTO django_celery_results_taskresult (task_id, status, content_type, content_encoding, result, date_done, meta, date_created)
       VALUES ($1, 'SUCCESS', 'application/json', 'utf-8', '{}', now() - make_interval(secs => $2), '{"children": []}', now())`,
      [taskId, ageSeconds],
    ),
  );
  return taskId;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('result cleanup in the worker (real Postgres)', () => {
  let worker: WorkerApp | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  it('keeps every result by default (RESULT_EXPIRES_SECONDS=0), as django-celery-results does', async () => {
    const ancient = await insertResult(365 * 86400);
    worker = await createWorker(testConfig({ RESULT_CLEANUP_INTERVAL_SECONDS: '1' }));
    await worker.listen();
    await pause(1500);
    expect(await taskRow(ancient)).toBeDefined();
    await withDatabase((db) => db.query('DELETE FROM django_celery_results_taskresult WHERE task_id = $1', [ancient]));
  });

  it('deletes results older than RESULT_EXPIRES_SECONDS at start and on every interval, and keeps younger ones', async () => {
    const expired = await insertResult(7200);
    const young = await insertResult(60);
    worker = await createWorker(
      testConfig({
        RESULT_EXPIRES_SECONDS: '3600',
        RESULT_CLEANUP_INTERVAL_SECONDS: '1',
        RESULT_CLEANUP_BATCH_SIZE: '1',
      }),
    );
    await worker.listen();
    await pause(500);
    expect(await taskRow(expired)).toBeUndefined();
    // Expires while the worker runs: the next sweep, a second later, takes it.
    const expiringLater = await insertResult(3600 + 5);
    await pause(1500);
    expect(await taskRow(expiringLater)).toBeUndefined();
    expect(await taskRow(young)).toBeDefined();
  });
});
