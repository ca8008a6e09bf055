import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { deadLetterQueueOf } from '@app/publishing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  taskRow,
  testConfig,
  withDatabase,
} from '@test/support/test-context';
import { createGateway } from '../../apps/gateway/src/gateway.factory';

/** The dead-letter admin API on a real gateway and worker: a FAILURE, a fix, a requeue, a delivery. */
describe('dead letters admin API (real RabbitMQ, Postgres and Redis)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let base: string;
  const refused = `refused-${randomUUID()}`;
  const admin = () => signToken({ user_id: 1, is_staff: true });
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown, token = admin()) => {
    const response = await fetch(`${base}/api/admin/dead_letters${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const refuse = () =>
    withDatabase((db) =>
      db.query(`
        CREATE OR REPLACE FUNCTION refuse_dead_letter_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.task_id = '${refused}' THEN RAISE EXCEPTION 'refused until fixed'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_dead_letter_test BEFORE INSERT ON notification_inbox
          FOR EACH ROW EXECUTE FUNCTION refuse_dead_letter_test();`),
    );
  const fix = () =>
    withDatabase((db) =>
      db.query(
        'DROP TRIGGER IF EXISTS refuse_dead_letter_test ON notification_inbox; DROP FUNCTION IF EXISTS refuse_dead_letter_test()',
      ),
    );

  beforeAll(async () => {
    config = testConfig({ TASK_MAX_ATTEMPTS: '1' });
    publisher = await TestPublisher.connect(config.AMQP_URL);
    worker = await createWorker(config);
    await worker.listen();
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await fix();
    await gateway?.close();
    await worker?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  it('answers 401 without a token and 403 for a non-admin', async () => {
    expect((await fetch(`${base}/api/admin/dead_letters`)).status).toBe(401);
    expect((await call('GET', '', undefined, signToken({ user_id: 2 }))).status).toBe(403);
  });

  it('lists a FAILURE, and once the cause is fixed, requeues it to a delivery under the same task id', async () => {
    await refuse();
    await publisher.publish(
      config.AMQP_QUEUE,
      { user_id: 'dead-letter-user', message: { text: 'private words' } },
      { messageId: refused, contentType: 'application/json' },
    );
    expect(await eventually(() => taskRow(refused))).toMatchObject({ status: 'FAILURE' });
    const listed = await eventually(async () => {
      const answer = await call('GET', '');
      return answer.body.total === 1 ? answer : undefined;
    });
    expect(listed.body).toEqual({
      queue: deadLetterQueueOf(config.AMQP_QUEUE),
      total: 1,
      messages: [
        {
          id: refused,
          task_id: refused,
          reason: expect.stringContaining('refused until fixed'),
          original_queue: config.AMQP_QUEUE,
          dead_lettered_at: expect.any(String),
          attempts: null,
          format: 'json',
          content_type: 'application/json',
          size: expect.any(Number),
          preview: null,
        },
      ],
    });
    expect(JSON.stringify(listed.body)).not.toContain('private words');
    expect((await call('GET', '?reveal=true')).body.messages[0].preview).toContain('private words');

    await fix();
    const socket = await TestSocket.open(
      `${base.replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: 'dead-letter-user' })}`,
    );
    try {
      expect(await call('POST', '/requeue', { ids: [refused, 'not-there'] })).toEqual({
        status: 200,
        body: { requeued: 1, ids: [refused], not_found: ['not-there'] },
      });
      const delivered = await eventually(() => socket.framesOf('notification')[0]);
      expect(delivered).toMatchObject({ task_id: refused, message: { text: 'private words' } });
      expect(await eventually(async () => ((await taskRow(refused))?.status === 'SUCCESS' ? true : undefined))).toBe(
        true,
      );
      expect((await call('GET', '')).body.total).toBe(0);
    } finally {
      await socket.close();
    }
  });

  it('requeues a copy of a task already stored without storing or delivering it twice', async () => {
    const taskId = randomUUID();
    const body = { user_id: 'stored-once', message: 'once' };
    const socket = await TestSocket.open(
      `${base.replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: 'stored-once' })}`,
    );
    try {
      await publisher.publish(config.AMQP_QUEUE, body, { messageId: taskId });
      expect(await eventually(() => taskRow(taskId))).toMatchObject({ status: 'SUCCESS' });
      await eventually(() => socket.framesOf('notification')[0]);
      await publisher.declareDeadLetterQueue(config.AMQP_QUEUE);
      await publisher.publish(deadLetterQueueOf(config.AMQP_QUEUE), body, { messageId: taskId });
      expect((await call('POST', '/requeue', { all: true })).body).toMatchObject({ requeued: 1, ids: [taskId] });
      // The worker takes it as a redelivery: the same notification, published again, which the
      // gateway does not send a socket twice.
      await eventually(async () => ((await publisher.messageCount(config.AMQP_QUEUE)) === 0 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(socket.framesOf('notification').map((frame) => frame.task_id)).toEqual([taskId]);
      const stored = await withDatabase(
        async (db) =>
          (await db.query('SELECT count(*)::int AS n FROM notification_inbox WHERE task_id = $1', [taskId])).rows[0].n,
      );
      expect(stored).toBe(1);
    } finally {
      await socket.close();
    }
  });

  it('discards what is chosen, and counts every action on /metrics', async () => {
    const bad = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, 'not json', { messageId: bad });
    await eventually(async () => ((await call('GET', '')).body.total === 1 ? true : undefined));
    expect((await call('POST', '/discard', { ids: [bad] })).body).toEqual({ discarded: 1, ids: [bad], not_found: [] });
    expect((await call('GET', '')).body.total).toBe(0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const action of ['list', 'reveal', 'requeue', 'discard'])
      expect(metrics).toMatch(
        new RegExp(`^notify_dead_letter_actions_total\\{action="${action}",service="gateway"\\} [1-9]`, 'm'),
      );
  });

  it.each([
    ['nothing', {}, 'ids'],
    ['no ids', { ids: [] }, 'ids'],
    ['all: false', { all: false }, 'all'],
    ['ids and all', { ids: ['a'], all: true }, 'not both'],
    ['an id over 255 characters', { ids: ['x'.repeat(256)] }, 'ids'],
  ])('answers a selection of %s with a 400 that names the problem', async (_, selection, name) => {
    const answer = await call('POST', '/requeue', selection);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body.message)).toContain(name);
  });
});
