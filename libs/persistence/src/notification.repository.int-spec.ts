import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { TaskStatus } from '@app/contracts';
import { Client } from 'pg';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { testConfig } from '../../../test/support/test-context';
import { Notification } from './notification.entity';
import { NotificationRepository } from './notification.repository';
import { PersistenceModule } from './persistence.module';
import { TaskOutcome } from './task-result.repository';

describe('NotificationRepository (real Postgres)', () => {
  let moduleRef: TestingModule;
  let inbox: NotificationRepository;

  const success = (taskId: string) => (stored: Notification): TaskOutcome => ({
    taskId,
    status: TaskStatus.Success,
    result: JSON.stringify({ notification_id: Number(stored.id) }),
    taskName: 'send_notification',
    taskArgs: '[]',
    taskKwargs: '{}',
    worker: 'inbox-spec',
    receivedAt: new Date(),
  });
  const store = (userId: string, taskId = randomUUID()) => inbox.storeWithResult({ userId, taskId, message: { text: taskId } }, success(taskId));

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(testConfig()), PersistenceModule] }).compile();
    inbox = moduleRef.get(NotificationRepository);
  });

  afterAll(() => moduleRef.close());

  it('draws no id for a user while another writer holds that user (ids commit in per-user order)', async () => {
    const user = `locked-${randomUUID()}`;
    const other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      // Another worker's open transaction holding the user, as NotificationRepository takes it.
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [user]);
      let settled = false;
      const waiting = store(user).finally(() => (settled = true));
      await sleep(300);
      expect(settled).toBe(false);
      // An id drawn now, while the user is held, must be lower than the held user's.
      const { rows } = await other.query(`SELECT nextval(pg_get_serial_sequence('notification_inbox', 'id'))::int AS "id"`);
      await other.query('COMMIT');
      const stored = await waiting;
      expect(Number(stored.id)).toBeGreaterThan(rows[0].id);
    } finally {
      await other.end();
    }
  });

  it('returns the stored notification again for a redelivered task, and makes no second one', async () => {
    const user = `redelivered-${randomUUID()}`;
    const taskId = randomUUID();
    const first = await store(user, taskId);
    const [again, fresh] = await Promise.all([store(user, taskId), store(user)]);
    expect(again).toEqual(first);
    expect(Number(fresh.id)).toBeGreaterThan(Number(first.id));
    expect(await inbox.after(user, '0', 10)).toHaveLength(2);
  });

  it('keeps batch order within a user: ids follow the order the tasks were handed in', async () => {
    const user = `ordered-${randomUUID()}`;
    const taskIds = Array.from({ length: 50 }, () => randomUUID());
    const stored = await Promise.all(taskIds.map((taskId) => store(user, taskId)));
    const ids = stored.map((row) => Number(row.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(50);
  });
});
