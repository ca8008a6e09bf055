import { Test, TestingModule } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { ConfigModule, DatabaseConfig } from '@app/config';
import type { TaskStatus } from '@app/contracts';
import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { taskRow, testConfig, withDatabase } from '@test/support/test-context';
import { listStoreStatement, singleUserStoreStatement } from './inbox-store.statements';
import { InboxWriter, StoreResult, deliveryReportOf } from './inbox-writer';
import { NotificationRepository } from './notification.repository';
import { PersistenceModule } from './persistence.module';
import { TaskResultRepository } from './task-result.repository';

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
    into.storeWithResult(
      { userIds: [userId], listsRecipients: false, taskId, messageJson: JSON.stringify(message) },
      success,
    );
  const storeForList = (userIds: string[], taskId = randomUUID(), message: unknown = { text: taskId }) =>
    writer.storeWithResult({ userIds, listsRecipients: true, taskId, messageJson: JSON.stringify(message) }, success);
  const storedAll = (result: StoreResult) => {
    if (result.status !== 'stored') throw new Error(`expected stored, got ${result.status}`);
    return result.notifications;
  };
  const stored = (result: StoreResult) => storedAll(result)[0];

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
    expect(again).toMatchObject({ status: 'stored', redelivered: true, notifications: [stored(first)] });
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

  it('refuses a task id whose SUCCESS row outlived its notification (retention), instead of storing it twice', async () => {
    const user = `spent-${randomUUID()}`;
    const taskId = randomUUID();
    stored(await store(user, taskId));
    await withDatabase((db) => db.query('DELETE FROM notification_inbox WHERE task_id = $1', [taskId]));
    expect(await store(user, taskId)).toEqual({ status: 'conflict', taskId });
    expect((await inbox.catchUpFrom(user, 0, 10)).rows).toEqual([]);
  });

  it.each(['STARTED', 'RETRY', 'FAILURE'])(
    'stores a task whose result row is %s, and makes the row SUCCESS',
    async (status) => {
      const user = `unfinished-${randomUUID()}`;
      const taskId = randomUUID();
      await moduleRef
        .get(TaskResultRepository)
        .record({ ...success, taskId, status: status as TaskStatus, result: 'null' });
      const notification = stored(await store(user, taskId));
      expect(await taskRow(taskId)).toMatchObject({
        status: 'SUCCESS',
        result: deliveryReportOf(Number(notification.id), user),
      });
      expect((await inbox.catchUpFrom(user, 0, 10)).rows.map((row) => row.id)).toEqual([notification.id]);
    },
  );

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
    expect(results[1]).toMatchObject({ redelivered: true, notifications: [stored(results[0])] });
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

  it('reads the results table and the inbox by task id only: what it reads does not grow with them', async () => {
    const results = moduleRef.get(TaskResultRepository);
    const done = Array.from({ length: 2000 }, () => randomUUID());
    await results.recordMany(
      done.map((taskId) => ({ ...success, taskId, status: 'SUCCESS' as TaskStatus, result: 'null' })),
    );
    await withDatabase((db) => db.query('ANALYZE django_celery_results_taskresult, notification_inbox'));
    const tasks = Array.from({ length: 10 }, (_, i) => [
      i < 5 ? done[i] : randomUUID(),
      '{"text":"probe"}',
      'n',
      '[]',
      '{}',
      Date.now(),
      null,
      `probe-${randomUUID()}`,
    ]);
    const [{ 'QUERY PLAN': plan }] = await withDatabase(
      async (db) =>
        (
          await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${singleUserStoreStatement(true)}`, [
            JSON.stringify(tasks),
            'w',
          ])
        ).rows,
    );
    const scans: Array<{ relation: string; rows: number }> = [];
    const walk = (node: Record<string, unknown>) => {
      if (typeof node['Relation Name'] === 'string' && String(node['Node Type']).includes('Scan'))
        scans.push({
          relation: node['Relation Name'],
          rows: Number(node['Actual Rows']) * Number(node['Actual Loops']),
        });
      for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
    };
    for (const cte of [plan[0].Plan]) walk(cte);
    const read = (relation: string) => scans.filter((scan) => scan.relation === relation);
    expect(read('django_celery_results_taskresult').length).toBeGreaterThan(0);
    for (const scan of [...read('django_celery_results_taskresult'), ...read('notification_inbox')])
      expect(scan.rows).toBeLessThanOrEqual(tasks.length);
  });

  it('opens only the inbox partition its rows go to: the search for a redelivered task starts only for one', async () => {
    // At least two partitions exist (the migration opens the ones after the first ids), so a
    // statement that started a search of every partition would lock one its rows are not in.
    const forms: Array<[string, string | string[]]> = [
      [singleUserStoreStatement(true), `parts-${randomUUID()}`],
      [listStoreStatement(true), [`parts-${randomUUID()}`, `parts-${randomUUID()}`]],
    ];
    for (const [statement, users] of forms)
      await withDatabase(async (db) => {
        const partitions = await db.query(
          `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'notification_inbox'::regclass`,
        );
        expect(partitions.rows[0].n).toBeGreaterThan(1);
        await db.query('BEGIN');
        try {
          const task = [randomUUID(), '{"text":"locks"}', 'n', '[]', '{}', Date.now(), null, users];
          const { rows } = await db.query(statement, [JSON.stringify([task]), 'w']);
          const locked = await db.query(
            `SELECT c.relname FROM pg_locks AS l JOIN pg_class AS c ON c.oid = l.relation
              WHERE l.pid = pg_backend_pid() AND c.relkind = 'r' AND c.relname LIKE 'notification_inbox_%'`,
          );
          const [[outcome, [[id]]]] = JSON.parse(rows[0].results);
          const home = await db.query(`SELECT tableoid::regclass::text AS name FROM notification_inbox WHERE id = $1`, [
            id,
          ]);
          expect([outcome, locked.rows.map((row) => row.relname)]).toEqual(['stored', [home.rows[0].name]]);
        } finally {
          await db.query('ROLLBACK');
        }
      });
  });

  describe('when no statement is running, the first task waits STORE_BATCH_WAIT_MS for others', () => {
    const writerWaiting = (ms: number) =>
      new InboxWriter(moduleRef.get(getDataSourceToken()), moduleRef.get(TaskResultRepository), {
        STORE_BATCH_WAIT_MS: ms,
      } as DatabaseConfig);
    /** When the rows of two tasks stored 20 ms apart were created: one statement gives both one time. */
    const createdAtOfTwo = async (into: InboxWriter) => {
      const first = store(`gather-${randomUUID()}`, randomUUID(), {}, into);
      await sleep(20);
      const second = store(`gather-${randomUUID()}`, randomUUID(), {}, into);
      return [stored(await first).createdAt, stored(await second).createdAt];
    };

    it('and the tasks that come meanwhile share its statement', async () => {
      const [first, second] = await createdAtOfTwo(writerWaiting(200));
      expect(second).toBe(first);
    });

    it('unless the wait is 0: then it goes at once, alone', async () => {
      const [first, second] = await createdAtOfTwo(writerWaiting(0));
      expect(second).not.toBe(first);
    });

    it('unless a full batch is already waiting', async () => {
      const into = writerWaiting(600_000);
      const results = await Promise.all(
        Array.from({ length: 500 }, () => store(`gather-full-${randomUUID()}`, randomUUID(), {}, into)),
      );
      expect(new Set(results.map((result) => stored(result).createdAt)).size).toBe(1);
    });
  });

  describe('a task for a list of users', () => {
    const rowsOf = (taskId: string) =>
      withDatabase(
        async (db) =>
          (
            await db.query(
              'SELECT user_id, message::text AS message, recipient_index FROM notification_inbox WHERE task_id = $1 ORDER BY id',
              [taskId],
            )
          ).rows,
      );

    it('stores one row per user, each in that user’s sequence, and a result that counts them', async () => {
      const users = Array.from({ length: 12 }, (_, i) => `list-${i}-${randomUUID()}`);
      await store(users[3]);
      const taskId = randomUUID();
      const notifications = storedAll(await storeForList(users, taskId));
      expect(notifications).toHaveLength(12);
      expect(notifications.map((n) => n.seq)).toEqual(users.map((_, i) => (i === 3 ? '2' : '1')));
      for (const [i, user] of users.entries())
        expect((await inbox.catchUpFrom(user, 0, 10)).rows.at(-1)).toMatchObject({ id: notifications[i].id });
      expect((await rowsOf(taskId)).map((row) => [row.user_id, row.recipient_index])).toEqual(
        users.map((user, i) => [user, i]),
      );
      expect(JSON.parse((await taskRow(taskId))!.result as string)).toEqual({
        count: 12,
        groups: users.slice(0, 10).map((user) => `Notifications_${user}`),
        more: 2,
      });
    });

    it('returns the same rows for a redelivery, and stores nothing twice', async () => {
      const users = [`again-a-${randomUUID()}`, `again-b-${randomUUID()}`, `again-c-${randomUUID()}`];
      const taskId = randomUUID();
      const first = storedAll(await storeForList(users, taskId));
      const again = await storeForList(users, taskId);
      expect(again).toEqual({ status: 'stored', redelivered: true, notifications: first });
      expect(await rowsOf(taskId)).toHaveLength(3);
    });

    it.each([
      ['one user fewer', (users: string[]) => users.slice(0, 2), { text: 'same' }],
      ['one user more', (users: string[]) => [...users, `${users[0]}-more`], { text: 'same' }],
      ['another user', (users: string[]) => [users[0], users[1], `${users[0]}-else`], { text: 'same' }],
      ['another message', (users: string[]) => users, { text: 'other' }],
      ['a single user of the list', (users: string[]) => [users[0]], { text: 'same' }],
      ['the same users in another order', (users: string[]) => [users[1], users[0], users[2]], { text: 'same' }],
    ])('refuses the task id with %s, and leaves its rows and result untouched', async (_, change, message) => {
      const users = [0, 1, 2].map((i) => `list-conflict-${i}-${randomUUID()}`);
      const taskId = randomUUID();
      storedAll(await storeForList(users, taskId, { text: 'same' }));
      const [rowsBefore, resultBefore] = [await rowsOf(taskId), await taskRow(taskId)];
      const changed = change(users);
      const answer =
        changed.length === 1 ? await store(changed[0], taskId, message) : await storeForList(changed, taskId, message);
      expect(answer).toEqual({ status: 'conflict', taskId });
      expect(await rowsOf(taskId)).toEqual(rowsBefore);
      expect(await taskRow(taskId)).toEqual(resultBefore);
      expect(await inbox.position(`${users[0]}-more`)).toEqual({ id: 0, seq: 0 });
    });

    it('keeps each user’s ids and seqs in the same order when list tasks and single tasks are written at once', async () => {
      const users = [0, 1, 2].map((i) => `mixed-${i}-${randomUUID()}`);
      const writes = Array.from({ length: 60 }, (_, i) =>
        i % 4 === 0 ? storeForList(i % 8 === 0 ? users : [users[2], users[0]]) : store(users[i % 3]),
      );
      await Promise.all(writes);
      for (const user of users) {
        const { rows } = await inbox.catchUpFrom(user, 0, 100);
        const ids = rows.map((row) => Number(row.id));
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(rows.map((row) => Number(row.seq))).toEqual(rows.map((_, i) => i + 1));
      }
    });

    it('lets one of two writers storing different lists under one task id at once write all of it, and nothing of the other', async () => {
      const second = await Test.createTestingModule({
        imports: [ConfigModule.forRoot(testConfig()), PersistenceModule],
      }).compile();
      try {
        for (let round = 0; round < 10; round++) {
          const taskId = randomUUID();
          const lists = [0, 1].map((w) =>
            Array.from({ length: 50 }, (_, i) => `race-${w}-${i % (20 + w * 30)}-${taskId}`),
          );
          const uniqueLists = lists.map((list) => [...new Set(list)]);
          const once = (list: string[], into: InboxWriter) =>
            into.storeWithResult({ userIds: list, listsRecipients: true, taskId, messageJson: '1' }, success);
          // The loser may be told to try again (its snapshot missed the winner's rows), as the worker does.
          const write = (list: string[], into: InboxWriter) => once(list, into).catch(() => once(list, into));
          const answers = await Promise.all([
            write(uniqueLists[0], writer),
            write(uniqueLists[1], second.get(InboxWriter)),
          ]);
          const winner = answers.findIndex((answer) => answer.status === 'stored');
          expect(answers.map((answer) => answer.status).sort()).toEqual(['conflict', 'stored']);
          expect((await rowsOf(taskId)).map((row) => row.user_id as string)).toEqual(uniqueLists[winner]);
        }
      } finally {
        await second.close();
      }
    });
  });
});
