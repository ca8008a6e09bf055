import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { MetricsModule } from '@app/metrics';
import { dropDatabase, migrateDatabase } from '@app/persistence';
import { storeNotification, testConfig, withDatabase } from '@test/support/test-context';
import { randomBytes } from 'node:crypto';
import { InboxPartitionMaintainer } from './inbox-partition-maintainer';
import { InboxPartitionsModule } from './inbox-partitions.module';

const DAY_MS = 86_400_000;
const LOCK = 'notification_inbox partitions';

/** Drops partitions of the whole inbox: on a database of its own, so no other spec's rows go. */
describe('InboxPartitionMaintainer (real Postgres)', () => {
  const url = (() => {
    const scratch = new URL(process.env.DATABASE_URL!);
    scratch.pathname = `/notify_partitions_${randomBytes(4).toString('hex')}`;
    return scratch.toString();
  })();
  let moduleRef: TestingModule;
  let maintainer: InboxPartitionMaintainer;
  const sql = (text: string, values: unknown[] = []) =>
    withDatabase(async (db) => (await db.query(text, values)).rows, url);
  const partitions = async () =>
    (
      await sql(`SELECT c.relname AS name FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'notification_inbox'::regclass ORDER BY c.relname`)
    ).map((row) => row.name as string);
  const partitionsAfter = async (id: number) =>
    (
      await sql(
        `SELECT count(*)::int AS count FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'notification_inbox'::regclass
            AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''(\\d+)')::bigint > $1`,
        [id],
      )
    )[0].count as number;
  /** Rows with the given ids, created `daysAgo`. */
  const insert = (ids: number[], daysAgo: number, user = 'old') =>
    sql(
      `INSERT INTO notification_inbox (id, user_id, task_id, message, seq, created_at)
       SELECT id, $2, 't' || id, '{}', id, now() - $3 * interval '1 day' FROM unnest($1::bigint[]) AS id`,
      [ids, user, daysAgo],
    );

  beforeAll(async () => {
    await migrateDatabase(url);
    moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(testConfig({ DATABASE_URL: url, NOTIFICATION_RETENTION_DAYS: '30' })),
        MetricsModule.forRoot('worker'),
        InboxPartitionsModule,
      ],
    }).compile();
    maintainer = moduleRef.get(InboxPartitionMaintainer);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await dropDatabase(url);
  });

  it('on a new inbox finds the two partitions the migration opened ahead enough', async () => {
    expect(await maintainer.runOnce()).toEqual({ created: [], dropped: [] });
    expect(await partitions()).toEqual([
      'notification_inbox_from_1',
      'notification_inbox_from_1000001',
      'notification_inbox_from_min',
    ]);
  });

  it('opens two partitions ahead of the last id, which the next ids go to', async () => {
    await insert([1, 2, 3], 100);
    await insert([1_000_001, 1_000_002], 40);
    await sql(`SELECT setval(pg_get_serial_sequence('notification_inbox', 'id'), 1000002)`);
    // As a pass whose ATTACH timed out leaves it.
    await sql(`CREATE TABLE notification_inbox_from_3000001 (LIKE notification_inbox INCLUDING DEFAULTS)`);
    expect(await maintainer.runOnce()).toEqual({
      created: ['notification_inbox_from_2000001', 'notification_inbox_from_3000001'],
      dropped: ['notification_inbox_from_min', 'notification_inbox_from_1'], // empty, and 100 days old
    });
    await sql(`SELECT setval(pg_get_serial_sequence('notification_inbox', 'id'), 2000000)`);
    const { id } = await storeNotification('new', 'after the boundary', { databaseUrl: url });
    expect(id).toBe(2_000_001);
    const [row] = await sql(`SELECT tableoid::regclass::text AS partition FROM notification_inbox WHERE id = $1`, [id]);
    expect(row.partition).toBe('notification_inbox_from_2000001');
  });

  it('drops the partitions whose newest row expired, oldest first, and keeps the current one and every newer row', async () => {
    // The current partition holds a 40-day-old row and is kept; [1000001, 2000001) now expires.
    await insert([2_000_002], 40);
    await insert([2_000_003], 29);
    const { created, dropped } = (await maintainer.runOnce())!;
    expect(dropped).toEqual(['notification_inbox_from_1000001']);
    // The last id entered the partition ahead; a million ids in the last hour sized the next ones.
    expect(created[0]).toBe('notification_inbox_from_4000001');
    expect(await partitionsAfter(2_000_003)).toBeGreaterThanOrEqual(2);
    expect(await partitions()).toEqual(
      expect.arrayContaining(['notification_inbox_from_2000001', 'notification_inbox_from_3000001']),
    );
    const left = await sql(`SELECT id::int FROM notification_inbox ORDER BY id`);
    expect(left.map((row) => row.id)).toEqual([2_000_001, 2_000_002, 2_000_003]);
  });

  it('keeps a partition whose newest row is newer than the cut-off, and every partition after it', async () => {
    await sql(`SELECT setval(pg_get_serial_sequence('notification_inbox', 'id'), 3000005)`);
    await insert([3_000_005], 0);
    const { dropped } = (await maintainer.runOnce())!;
    expect(dropped).toEqual([]); // the partition of 2000001 holds a row of 29 days
    expect(await partitions()).toContain('notification_inbox_from_2000001');
    expect(await partitionsAfter(3_000_005)).toBeGreaterThanOrEqual(2);
  });

  it('does nothing while another connection holds the maintenance lock', async () => {
    await withDatabase(async (db) => {
      await db.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK]);
      try {
        expect(await maintainer.runOnce(new Date(Date.now() + 10 * DAY_MS))).toBeNull();
      } finally {
        await db.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK]);
      }
    }, url);
    expect(await partitions()).toContain('notification_inbox_from_2000001');
  });

  it('finishes a concurrent detach that was interrupted, then drops the partition', async () => {
    await withDatabase(async (reader) => {
      // A transaction that read the inbox holds the detach's second step until it times out.
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM notification_inbox');
      await withDatabase(async (detacher) => {
        await detacher.query(`SET lock_timeout = '200ms'`);
        await expect(
          detacher.query(
            `ALTER TABLE notification_inbox DETACH PARTITION notification_inbox_from_2000001 CONCURRENTLY`,
          ),
        ).rejects.toThrow(/lock timeout/);
      }, url);
      await reader.query('COMMIT');
    }, url);
    const [pending] = await sql(
      `SELECT inhdetachpending AS pending FROM pg_inherits WHERE inhrelid = 'notification_inbox_from_2000001'::regclass`,
    );
    expect(pending).toEqual({ pending: true });
    // Ninety days on, every row of the partition has expired.
    const { dropped } = (await maintainer.runOnce(new Date(Date.now() + 90 * DAY_MS)))!;
    expect(dropped).toContain('notification_inbox_from_2000001');
    expect(await partitions()).not.toContain('notification_inbox_from_2000001');
  });
});
