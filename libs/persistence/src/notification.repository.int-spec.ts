import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { testConfig, withDatabase } from '@test/support/test-context';
import { randomBytes } from 'node:crypto';
import { dropDatabase, migrateDatabase } from './database-migrator';
import { InboxWriter, StoreResult } from './inbox-writer';
import { NotificationRepository } from './notification.repository';
import { PersistenceModule } from './persistence.module';

/** The bisection reads the ids of the whole inbox, and the boundary tests place ids: no other spec's rows count. */
describe('NotificationRepository on a database of its own (real Postgres)', () => {
  const url = (() => {
    const scratch = new URL(process.env.DATABASE_URL!);
    scratch.pathname = `/notify_retention_${randomBytes(4).toString('hex')}`;
    return scratch.toString();
  })();
  let moduleRef: TestingModule;
  let inbox: NotificationRepository;
  let ids: number[];
  const day = (n: number) => new Date(Date.UTC(2001, 0, 1 + n));

  beforeAll(async () => {
    await migrateDatabase(url);
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig({ DATABASE_URL: url })), PersistenceModule],
    }).compile();
    inbox = moduleRef.get(NotificationRepository);
    // 300 notifications a day apart, with gaps of 7 between their ids.
    ids = await withDatabase(async (db) => {
      const { rows } = await db.query(
        `INSERT INTO notification_inbox (id, user_id, task_id, message, seq, created_at)
         SELECT n * 7, 'u', 't' || n, '1', n, timestamptz '2001-01-01 00:00Z' + n * interval '1 day' FROM generate_series(1, 300) AS n
         RETURNING id::bigint AS id`,
      );
      return rows.map((row) => Number(row.id));
    }, url);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await dropDatabase(url);
  });

  it('finds the newest id created before a cut-off by bisecting the ids, across gaps, at either end', async () => {
    expect(await inbox.lastIdCreatedBefore(day(1))).toBe(0); // nothing before the first
    expect(await inbox.lastIdCreatedBefore(new Date(day(1).getTime() + 1))).toBe(ids[0]);
    expect(await inbox.lastIdCreatedBefore(day(150))).toBe(ids[148]);
    expect(await inbox.lastIdCreatedBefore(new Date(day(300).getTime() + 1))).toBe(ids[299]);
  });

  describe('across a partition boundary (the migration opens [1, 1000001) and [1000001, 2000001))', () => {
    const ids = ['999998', '999999', '1000000', '1000001', '1000002'];
    const idsOf = (rows: Array<{ id: string | number }>) => rows.map((row) => String(row.id));

    beforeAll(() =>
      withDatabase(async (db) => {
        await db.query(
          `INSERT INTO notification_inbox (id, user_id, task_id, message, seq)
           SELECT id, 'x', 'x' || id, '{}', row_number() OVER (ORDER BY id) FROM unnest($1::bigint[]) AS id`,
          [ids],
        );
        await db.query(`INSERT INTO notification_sequence (user_id, last_seq) VALUES ('x', 5)`);
      }, url),
    );

    it('holds the user in two partitions', async () => {
      const rows = await withDatabase(
        async (db) =>
          (
            await db.query(
              `SELECT DISTINCT tableoid::regclass::text AS partition FROM notification_inbox WHERE user_id = 'x' ORDER BY 1`,
            )
          ).rows,
        url,
      );
      expect(rows.map((row) => row.partition)).toEqual([
        'notification_inbox_from_1',
        'notification_inbox_from_1000001',
      ]);
    });

    it('lists newest first, and after or before an id, as one table would', async () => {
      const newest = await inbox.list('x', { unreadOnly: false, limit: 3 });
      expect([idsOf(newest.items), newest.hasMore]).toEqual([['1000002', '1000001', '1000000'], true]);
      const before = await inbox.list('x', { before: '1000001', unreadOnly: false, limit: 3 });
      expect([idsOf(before.items), before.hasMore]).toEqual([['1000000', '999999', '999998'], false]);
      const after = await inbox.list('x', { after: '999999', unreadOnly: false, limit: 10 });
      expect(idsOf(after.items)).toEqual(['1000000', '1000001', '1000002']);
    });

    it('resumes after an id in the older partition through the newer one', async () => {
      const { end, rows } = await inbox.catchUpFrom('x', 999_998, 10);
      expect(end).toEqual({ id: 1_000_002, seq: 5 });
      expect(idsOf(rows)).toEqual(ids.slice(1));
      expect(idsOf(await inbox.between('x', 999_999, 1_000_001, 10))).toEqual(['1000000', '1000001']);
      expect(await inbox.countBetween('x', 999_998, 1_000_002, 10)).toBe(4);
      expect(await inbox.position('x')).toEqual({ id: 1_000_002, seq: 5 });
    });

    it('counts and marks read in both partitions', async () => {
      expect(await inbox.countUnread('x')).toBe(5);
      expect(await inbox.markRead('x', ['999999', '1000001', '7'])).toEqual(['999999', '1000001']);
      expect(await inbox.countUnread('x')).toBe(3);
      const unread = await inbox.list('x', { unreadOnly: true, limit: 10 });
      expect(idsOf(unread.items)).toEqual(['1000002', '1000000', '999998']);
      expect(await inbox.markAllRead('x')).toBe(3);
      expect(await inbox.countUnread('x')).toBe(0);
    });
  });
  describe("the end of a user's inbox (position, catch-up), read from the user's id floor", () => {
    const success = {
      taskName: 'send_notification',
      taskArgs: '[]',
      taskKwargs: '{}',
      worker: 'spec',
      receivedAt: new Date(),
    };
    const store = async (userId: string): Promise<{ id: number; seq: number }> => {
      const result: StoreResult = await moduleRef
        .get(InboxWriter)
        .storeWithResult(
          { userIds: [userId], listsRecipients: false, taskId: randomBytes(8).toString('hex'), messageJson: '{}' },
          success,
        );
      if (result.status !== 'stored') throw new Error(`expected stored, got ${result.status}`);
      return { id: Number(result.notifications[0].id), seq: Number(result.notifications[0].seq) };
    };
    /** The inbox partitions a statement run alone in a transaction locked: those it planned or started. */
    const partitionsRead = (statement: string) =>
      withDatabase(async (db) => {
        await db.query('BEGIN');
        try {
          await db.query(statement);
          const { rows } = await db.query(
            `SELECT c.relname FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
              WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' AND c.relname LIKE 'notification_inbox_from_%' ORDER BY 1`,
          );
          return rows.map((row) => row.relname as string);
        } finally {
          await db.query('ROLLBACK');
        }
      }, url);

    beforeAll(() =>
      // New ids in the second partition, [1000001, 2000001), past every row placed by hand.
      withDatabase((db) => db.query(`SELECT setval(pg_get_serial_sequence('notification_inbox', 'id'), 1500000)`), url),
    );

    it('finds the newest id and seq after stores, reading only the partitions from the floor up', async () => {
      await store('e');
      const newest = await store('e');
      expect(await inbox.position('e')).toEqual(newest);
      const { end, rows } = await inbox.catchUpFrom('e', newest.id - 1, 10);
      expect([end, rows.map((row) => Number(row.id))]).toEqual([newest, [newest.id]]);
      expect(await partitionsRead(`SELECT * FROM notification_inbox_end('e')`)).toEqual([
        'notification_inbox_from_1000001',
      ]);
    });

    it('falls back to every partition when nothing lies at or above the floor', async () => {
      // As a batch that lost its only task to another worker's claim leaves it.
      await withDatabase(
        (db) => db.query(`UPDATE notification_sequence SET id_floor = 1999999 WHERE user_id = 'x'`),
        url,
      );
      expect(await inbox.position('x')).toEqual({ id: 1_000_002, seq: 5 });
      expect(await partitionsRead(`SELECT * FROM notification_inbox_end('x')`)).toEqual(
        expect.arrayContaining(['notification_inbox_from_1', 'notification_inbox_from_1000001']),
      );
    });

    it('is the start for a user who never had a notification', async () => {
      expect(await inbox.position('nobody')).toEqual({ id: 0, seq: 0 });
      expect(await inbox.catchUpFrom('nobody', 0, 10)).toEqual({ end: { id: 0, seq: 0 }, rows: [] });
    });
  });
});
