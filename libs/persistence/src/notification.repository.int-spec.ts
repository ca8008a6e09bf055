import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { testConfig, withDatabase } from '@test/support/test-context';
import { randomBytes } from 'node:crypto';
import { dropDatabase, migrateDatabase } from './database-migrator';
import { NotificationRepository } from './notification.repository';
import { PersistenceModule } from './persistence.module';

/** The bisection reads the ids of the whole inbox: on a database of its own, so no other spec's rows count. */
describe('NotificationRepository lastIdCreatedBefore (real Postgres)', () => {
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
});
