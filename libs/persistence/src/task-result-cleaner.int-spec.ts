import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { testConfig, withDatabase } from '@test/support/test-context';
import { dataSourceOptions } from './data-source-options';
import { TaskResultCleaner } from './task-result-cleaner';

/** Inserts result rows done `ageDays` ago, as the worker (or Celery) would have written them. */
async function insertResults(count: number, ageDays: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => `cleaner-${randomUUID()}`);
  await withDatabase((db) =>
    db.query(
      `INSERT INTO django_celery_results_taskresult (task_id, status, content_type, content_encoding, result, date_done, meta, date_created)
       SELECT id, 'SUCCESS', 'application/json', 'utf-8', '{}', now() - make_interval(days => $2), '{"children": []}', now() - make_interval(days => $2)
         FROM unnest($1::text[]) AS id`,
      [ids, ageDays],
    ),
  );
  return ids;
}

const remaining = (ids: string[]) =>
  withDatabase(async (db) =>
    Number(
      (await db.query('SELECT count(*) FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [ids])).rows[0]
        .count,
    ),
  );

describe('TaskResultCleaner (real Postgres)', () => {
  const config = testConfig();
  const database = new DataSource(dataSourceOptions(config.DATABASE_URL, 2));
  const cleaner = new TaskResultCleaner(database);
  const tenDaysAgo = () => new Date(Date.now() - 10 * 86400_000);

  beforeAll(() => database.initialize());
  afterAll(() => database.destroy());

  it('deletes every result done before the cut-off, over several batches, and keeps the newer ones', async () => {
    const old = await insertResults(7, 30);
    const recent = await insertResults(3, 1);
    expect(await cleaner.deleteDoneBefore(tenDaysAgo(), 3)).toBe(7);
    expect(await remaining(old)).toBe(0);
    expect(await remaining(recent)).toBe(3);
  });

  it('stops between batches once its signal aborts', async () => {
    const old = await insertResults(5, 30);
    const stop = new AbortController();
    stop.abort();
    expect(await cleaner.deleteDoneBefore(tenDaysAgo(), 2, stop.signal)).toBe(0);
    expect(await remaining(old)).toBe(5);
    expect(await cleaner.deleteDoneBefore(tenDaysAgo(), 2)).toBe(5);
  });

  it('with two cleaners at once, deletes every expired row exactly once between them', async () => {
    const other = new DataSource(dataSourceOptions(config.DATABASE_URL, 1));
    await other.initialize();
    try {
      const old = await insertResults(3000, 30);
      const recent = await insertResults(5, 1);
      const [first, second] = await Promise.all([
        cleaner.deleteDoneBefore(tenDaysAgo(), 100),
        new TaskResultCleaner(other).deleteDoneBefore(tenDaysAgo(), 100),
      ]);
      // Each counted only what it deleted: together exactly the expired rows, none missed or counted twice.
      expect(first + second).toBe(3000);
      expect(Math.min(first, second)).toBeGreaterThan(0);
      expect(await remaining(old)).toBe(0);
      expect(await remaining(recent)).toBe(5);
    } finally {
      await other.destroy();
    }
  });
});
