import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { taskRow, testConfig, withDatabase } from '@test/support/test-context';
import { InboxWriter, StoreResult, deliveryReportOf } from './inbox-writer';
import { NotificationRepository } from './notification.repository';
import { PersistenceModule } from './persistence.module';

describe('InboxWriter (real Postgres)', () => {
  let moduleRef: TestingModule;
  let writer: InboxWriter;
  let inbox: NotificationRepository;

  const success = {
    taskName: 'send_notification',
    taskArgs: '[]',
    taskKwargs: '{}',
    worker: 'inbox-spec',
    receivedAt: new Date(),
  };
  const store = (userId: string, taskId = randomUUID(), message: unknown = { text: taskId }, into = writer) =>
    into.storeWithResult({ userId, taskId, messageJson: JSON.stringify(message) }, success);
  const stored = (result: StoreResult) => {
    if (result.status !== 'stored') throw new Error(`expected stored, got ${result.status}`);
    return result.notification;
  };

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig()), PersistenceModule],
    }).compile();
    writer = moduleRef.get(InboxWriter);
    inbox = moduleRef.get(NotificationRepository);
  });

  afterAll(() => moduleRef.close());

  it('draws no id for a user while another writer holds that user (ids and seqs commit in per-user order)', async () => {
    const user = `locked-${randomUUID()}`;
    await store(user);
    const other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      // Another worker's open transaction holding the user, as InboxWriter holds it.
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM notification_sequence WHERE user_id = $1 FOR UPDATE', [user]);
      let settled = false;
      const waiting = store(user).finally(() => (settled = true));
      await sleep(300);
      expect(settled).toBe(false);
      // An id drawn now, while the user is held, must be lower than the held user's.
      const { rows } = await other.query(
        `SELECT nextval(pg_get_serial_sequence('notification_inbox', 'id'))::int AS "id"`,
      );
      await other.query('COMMIT');
      const notification = stored(await waiting);
      expect(Number(notification.id)).toBeGreaterThan(rows[0].id);
      expect(notification.seq).toBe('2');
    } finally {
      await other.end();
    }
  });

  it('returns the stored notification again for a redelivered task, and makes no second one', async () => {
    const user = `redelivered-${randomUUID()}`;
    const taskId = randomUUID();
    const first = await store(user, taskId);
    const [again, fresh] = await Promise.all([store(user, taskId), store(user)]);
    expect(again).toMatchObject({ status: 'stored', redelivered: true, notification: stored(first) });
    expect(first).toMatchObject({ status: 'stored', redelivered: false });
    expect(Number(stored(fresh).id)).toBeGreaterThan(Number(stored(first).id));
    expect(stored(fresh).seq).toBe('2');
    expect((await inbox.catchUpFrom(user, 0, 10)).rows).toHaveLength(2);
  });

  it.each([
    ['another user', (user: string) => ({ user: `${user}-other`, message: { text: 'same' } })],
    ['another message', (user: string) => ({ user, message: { text: 'different' } })],
  ])('refuses a task id that holds a notification for %s, and leaves that task untouched', async (_, second) => {
    const user = `conflict-${randomUUID()}`;
    const taskId = randomUUID();
    const first = stored(await store(user, taskId, { text: 'same' }));
    const rowBefore = await taskRow(taskId);
    const other = second(user);
    expect(await store(other.user, taskId, other.message)).toEqual({ status: 'conflict', taskId });
    expect((await inbox.catchUpFrom(user, 0, 10)).rows.map((row) => row.messageJson)).toEqual(['{"text":"same"}']);
    expect((await inbox.catchUpFrom(`${user}-other`, 0, 10)).rows).toEqual([]);
    expect(await taskRow(taskId)).toEqual(rowBefore);
    expect(rowBefore).toMatchObject({
      status: 'SUCCESS',
      result: deliveryReportOf(Number(first.id), user), // the text SQL builds is the text JSON.stringify would
    });
  });

  it('tells a conflict from a redelivery within one batch too', async () => {
    const user = `batch-${randomUUID()}`;
    const taskId = randomUUID();
    const results = await Promise.all([
      store(user, taskId, 'a'),
      store(user, taskId, 'a'),
      store(`${user}-x`, taskId, 'a'),
      store(user, taskId, 'b'),
    ]);
    expect(results.map((result) => result.status)).toEqual(['stored', 'stored', 'conflict', 'conflict']);
    expect(results[1]).toMatchObject({ redelivered: true, notification: stored(results[0]) });
    expect(
      await withDatabase(
        async (db) =>
          (await db.query('SELECT count(*)::int AS n FROM notification_inbox WHERE task_id = $1', [taskId])).rows[0].n,
      ),
    ).toBe(1);
  });

  it('keeps batch order within a user: ids and seqs follow the order the tasks were handed in, seqs with no gap', async () => {
    const user = `ordered-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 50 }, () => store(user)));
    const ids = results.map((result) => Number(stored(result).id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(results.map((result) => Number(stored(result).seq))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('gives each user seqs 1, 2, 3, ... with no gap while two workers write at once', async () => {
    const second = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig()), PersistenceModule],
    }).compile();
    try {
      const users = Array.from({ length: 5 }, (_, i) => `two-writers-${i}-${randomUUID()}`);
      const writes = Array.from({ length: 200 }, (_, i) =>
        store(users[i % users.length], randomUUID(), i, i % 2 === 0 ? writer : second.get(InboxWriter)),
      );
      await Promise.all(writes);
      for (const user of users) {
        const { rows, end } = await inbox.catchUpFrom(user, 0, 100);
        expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        expect(rows.map((row) => Number(row.id))).toEqual(rows.map((row) => Number(row.id)).sort((a, b) => a - b));
        expect(end).toEqual({ id: Number(rows[39].id), seq: 40 });
      }
    } finally {
      await second.close();
    }
  });

  it('goes on counting after retention deleted all of a user’s notifications', async () => {
    const user = `retained-${randomUUID()}`;
    await store(user);
    await store(user);
    await withDatabase((db) => db.query('DELETE FROM notification_inbox WHERE user_id = $1', [user]));
    expect(await inbox.position(user)).toEqual({ id: 0, seq: 2 });
    expect(stored(await store(user)).seq).toBe('3');
  });
});
