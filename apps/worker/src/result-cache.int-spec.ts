import type { AppConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TestPublisher, eventually, taskRow, testConfig, uniqueName, withDatabase } from '@test/support/test-context';
import { createWorker } from './worker.factory';
import type { WorkerApp } from './worker.factory';

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const plainMessage = (userId: number) => ({ user_id: userId, message: { text: 'cached?' } });

async function counted(worker: WorkerApp, name: string): Promise<number> {
  const metric = worker.get(MetricsRegistry).registry.getSingleMetric(name);
  return (await metric!.get()).values[0]?.value ?? 0;
}

describe('worker with django-cache results (real RabbitMQ, Postgres and Redis)', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let publisher: TestPublisher;

  afterEach(async () => {
    await worker?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.close();
  });

  it('writes the results of a burst of tasks to the DatabaseCache table, each under its key', async () => {
    const table = uniqueName('cache');
    await withDatabase((db) =>
      db.query(
        `CREATE TABLE "${table}" ("cache_key" varchar(255) NOT NULL PRIMARY KEY, "value" text NOT NULL, "expires" timestamp with time zone NOT NULL)`,
      ),
    );
    try {
      config = testConfig({ RESULT_BACKENDS: 'django-db,django-cache', RESULT_CACHE_TABLE: table });
      publisher = await TestPublisher.connect(config.AMQP_URL);
      worker = await createWorker(config);
      await worker.listen();
      const taskIds = Array.from({ length: 40 }, () => randomUUID());
      for (const taskId of taskIds) await publisher.publish(config.AMQP_QUEUE, plainMessage(7), { messageId: taskId });
      const keys = await eventually(async () => {
        const { rows } = await withDatabase((db) => db.query(`SELECT cache_key FROM "${table}"`));
        return rows.length === taskIds.length ? rows.map((row) => row.cache_key as string) : undefined;
      });
      expect(keys.sort()).toEqual(taskIds.map((taskId) => `:1:celery-task-meta-${taskId}`).sort());
      expect(await counted(worker, 'notify_result_cache_writes_total')).toBe(taskIds.length);
    } finally {
      await withDatabase((db) => db.query(`DROP TABLE "${table}"`));
    }
  });

  it('caches the result of a task for a list of users as its row holds it: the count and the groups', async () => {
    const table = uniqueName('cache');
    await withDatabase((db) =>
      db.query(
        `CREATE TABLE "${table}" ("cache_key" varchar(255) NOT NULL PRIMARY KEY, "value" text NOT NULL, "expires" timestamp with time zone NOT NULL)`,
      ),
    );
    try {
      config = testConfig({ RESULT_BACKENDS: 'django-db,django-cache', RESULT_CACHE_TABLE: table });
      publisher = await TestPublisher.connect(config.AMQP_URL);
      worker = await createWorker(config);
      await worker.listen();
      const taskId = randomUUID();
      const users = Array.from({ length: 12 }, (_, i) => `cached-${i}`);
      await publisher.publish(config.AMQP_QUEUE, { user_ids: users, message: 'to a list' }, { messageId: taskId });
      const value = await eventually(async () => {
        const { rows } = await withDatabase((db) =>
          db.query(`SELECT value FROM "${table}" WHERE cache_key = $1`, [`:1:celery-task-meta-${taskId}`]),
        );
        return rows[0]?.value as string | undefined;
      });
      // DatabaseCache holds base64 of the pickle; its strings are in it as they are.
      const pickled = Buffer.from(value, 'base64').toString('latin1');
      for (const text of ['SUCCESS', 'count', 'groups', 'more', 'Notifications_cached-9'])
        expect(pickled).toContain(text);
      expect(pickled).not.toContain('Notifications_cached-10');
      expect(pickled).not.toContain('notification_id');
      expect(JSON.parse((await taskRow(taskId))!.result as string)).toMatchObject({ count: 12, more: 2 });
    } finally {
      await withDatabase((db) => db.query(`DROP TABLE "${table}"`));
    }
  });

  it('does the task, and counts the cache write it could not make, when the cache is down', async () => {
    config = testConfig({
      RESULT_BACKENDS: 'django-db,django-cache',
      RESULT_CACHE: 'redis',
      RESULT_CACHE_REDIS_URL: `redis://127.0.0.1:${await closedPort()}`,
      RESULT_CACHE_TIMEOUT_MS: '500',
    });
    publisher = await TestPublisher.connect(config.AMQP_URL);
    worker = await createWorker(config);
    await worker.listen();
    const taskId = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, plainMessage(8), { messageId: taskId });
    const row = await eventually(() => taskRow(taskId));
    expect(row).toMatchObject({ status: 'SUCCESS' });
    const inbox = await withDatabase((db) => db.query('SELECT 1 FROM notification_inbox WHERE task_id = $1', [taskId]));
    expect(inbox.rowCount).toBe(1);
    await eventually(async () =>
      (await counted(worker, 'notify_result_cache_write_failures_total')) >= 1 ? true : undefined,
    );
    expect(await counted(worker, 'notify_result_cache_writes_total')).toBe(0);
  });
});
