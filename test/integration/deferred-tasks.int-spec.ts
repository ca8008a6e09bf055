import type { INestApplication } from '@nestjs/common';
import { deadLetterQueueOf } from '@app/publishing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TestPublisher, eventually, signToken, taskRow, testConfig, withDatabase } from '@test/support/test-context';

/** `send_notification_task.apply_async((9, ...), eta=eta)` as Celery publishes it. */
function celeryTask(taskId: string, eta: Date) {
  return {
    body: [[9, `eta ${taskId}`], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
    properties: {
      contentType: 'application/json',
      correlationId: taskId,
      headers: {
        lang: 'py',
        task: 'notifications.tasks.send_notification_task',
        id: taskId,
        eta: eta.toISOString(),
        expires: null,
        argsrepr: '(9,)',
        kwargsrepr: '{}',
      },
    },
  };
}

const deferredRow = (taskId: string) =>
  withDatabase(
    async (db) =>
      (await db.query('SELECT task_id, eta FROM deferred_task WHERE task_id = $1', [taskId])).rows[0] as
        { eta: Date } | undefined,
  );

/**
 * Celery etas too far ahead to hold in memory: stored in Postgres and acked, published again
 * shortly before they are due, run no earlier than the eta and within about a second after it,
 * across worker restarts; an eta past setTimeout's 24.8-day limit does not run at once.
 */
describe('deferred Celery tasks (real RabbitMQ, Postgres and Redis)', () => {
  const config = testConfig({ DEFERRED_TASK_HOLD_SECONDS: '1', DEFERRED_TASK_POLL_MS: '100' });
  let worker: WorkerApp;
  let gateway: INestApplication;
  let publisher: TestPublisher;
  let base: string;

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    [worker, gateway] = await Promise.all([createWorker(config), createGateway(config)]);
    await worker.listen();
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await worker?.close();
    await gateway?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  const unacked = async () =>
    Number(/^notify_amqp_unacked\{[^}]*\} (\d+)/m.exec(await (await fetch(`${worker.httpUrl()}/metrics`)).text())?.[1]);

  it('stores a task due in 30 days and acks it, shows it to admins, and runs it when it comes due', async () => {
    const taskId = randomUUID();
    const { body, properties } = celeryTask(taskId, new Date(Date.now() + 30 * 86_400_000));
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await eventually(() => deferredRow(taskId), 5000, 'the deferred row');
    await eventually(
      async () =>
        (await publisher.messageCount(config.AMQP_QUEUE)) === 0 && (await unacked()) === 0 ? true : undefined,
      5000,
      'nothing held',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await taskRow(taskId)).toBeUndefined();

    const listed = await fetch(`${base}/api/scheduled_tasks`, {
      headers: { authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}` },
    });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { results: unknown[] }).results).toContainEqual(
      expect.objectContaining({
        task_id: taskId,
        task_name: 'notifications.tasks.send_notification_task',
        eta: expect.any(String),
      }),
    );
    const refused = await fetch(`${base}/api/scheduled_tasks`, {
      headers: { authorization: `Bearer ${signToken({ user_id: 2 })}` },
    });
    expect(refused.status).toBe(403);

    // Time passes: the task comes due in 2 s (the stored message's eta header with it).
    const due = new Date(Date.now() + 2000);
    await withDatabase((db) =>
      db.query(
        `UPDATE deferred_task SET eta = $2, properties = jsonb_set(properties::jsonb, '{headers,eta}', to_jsonb($3::text))::text WHERE task_id = $1`,
        [taskId, due, due.toISOString()],
      ),
    );
    const row = await eventually(() => taskRow(taskId), 10_000, 'the task run');
    expect(row.status).toBe('SUCCESS');
    expect((row.date_done as Date).getTime()).toBeGreaterThanOrEqual(due.getTime() - 50);
    expect((row.date_done as Date).getTime()).toBeLessThan(due.getTime() + 1000);
    expect(await deferredRow(taskId)).toBeUndefined();
  });

  it('runs a stored task at its eta after the worker that stored it has been restarted', async () => {
    const taskId = randomUUID();
    const due = new Date(Date.now() + 5000);
    const { body, properties } = celeryTask(taskId, due);
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await eventually(() => deferredRow(taskId), 3000, 'the deferred row');
    await worker.close();
    worker = await createWorker(config);
    await worker.listen();
    const row = await eventually(() => taskRow(taskId), 15_000, 'the task run');
    expect(row.status).toBe('SUCCESS');
    expect((row.date_done as Date).getTime()).toBeGreaterThanOrEqual(due.getTime() - 50);
    expect((row.date_done as Date).getTime()).toBeLessThan(due.getTime() + 1000);
  });

  it('stores the same message once, however often it is delivered before its ack', async () => {
    const taskId = randomUUID();
    const { body, properties } = celeryTask(taskId, new Date(Date.now() + 86_400_000));
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await eventually(
      async () =>
        (await publisher.messageCount(config.AMQP_QUEUE)) === 0 && (await unacked()) === 0 ? true : undefined,
      5000,
      'nothing held',
    );
    const rows = await withDatabase((db) =>
      db.query('SELECT count(*)::int AS n FROM deferred_task WHERE task_id = $1', [taskId]),
    );
    expect(rows.rows[0].n).toBe(1);
    await withDatabase((db) => db.query('DELETE FROM deferred_task WHERE task_id = $1', [taskId]));
  });
});
