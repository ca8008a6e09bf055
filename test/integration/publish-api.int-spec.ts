import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import * as amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { deadLetterQueueOf } from '@app/publishing';
import {
  TestPublisher,
  eventually,
  redeclareAccepted,
  signToken,
  taskRow,
  testConfig,
} from '@test/support/test-context';
import { createWorker } from '../../apps/worker/src/worker.factory';
import { createGateway } from '../../apps/gateway/src/gateway.factory';

const SERVICE_TOKEN = 'service-token-0123456789abcdef0123456789';

describe('POST /api/publish (real RabbitMQ; a real worker for the round trip)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let base: string;
  let broker: amqp.ChannelModel;
  let channel: amqp.Channel;
  const admin = () => signToken({ user_id: 1, is_staff: true });
  const post = (body: unknown, token?: string) =>
    fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  /** The next message on the queue, taken off it. */
  const nextMessage = () =>
    eventually(
      async () => (await channel.get(config.AMQP_QUEUE, { noAck: true })) || undefined,
      5000,
      'a message on the queue',
    );

  beforeAll(async () => {
    config = testConfig({
      PUBLISH_API_TOKENS: `another-token-that-is-long-enough-000000,${SERVICE_TOKEN}`,
      MAX_RECIPIENTS: '5',
    });
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
    broker = await amqp.connect(config.AMQP_URL);
    channel = await broker.createChannel();
  });

  afterAll(async () => {
    await gateway.close();
    await channel.deleteQueue(config.AMQP_QUEUE);
    await broker.close();
  });

  it('answers 401 without a valid token, and 403 for a non-admin access token', async () => {
    const body = { user_id: 1, message: 'x' };
    expect((await post(body)).status).toBe(401);
    expect((await post(body, 'not-a-token')).status).toBe(401);
    expect((await post(body, `${SERVICE_TOKEN}x`)).status).toBe(401);
    expect((await post(body, signToken({ user_id: 1 }))).status).toBe(403);
  });

  it('queues {user_id, message} with the task id as message_id, persistent, for a service token', async () => {
    const response = await post({ user_id: 42, message: { text: 'hello', n: [1, null] } }, SERVICE_TOKEN);
    expect(response.status).toBe(202);
    const { task_id, status } = (await response.json()) as { task_id: string; status: string };
    expect(status).toBe('PENDING');
    expect(task_id).toMatch(/^[0-9a-f-]{36}$/);
    const message = await nextMessage();
    expect(JSON.parse(message.content.toString())).toEqual({ user_id: 42, message: { text: 'hello', n: [1, null] } });
    expect(message.properties).toMatchObject({ messageId: task_id, deliveryMode: 2, contentType: 'application/json' });
    // Declared as the worker and Celery declare it: durable (checkQueue would fail on a missing queue).
    expect(await channel.checkQueue(config.AMQP_QUEUE)).toMatchObject({ queue: config.AMQP_QUEUE });
  });

  it('takes the task id given, and an admin access token', async () => {
    const taskId = `given-${randomUUID()}`;
    const response = await post({ user_id: 'user.7', message: null, task_id: taskId }, admin());
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ task_id: taskId, status: 'PENDING' });
    const message = await nextMessage();
    expect(message.properties.messageId).toBe(taskId);
    expect(JSON.parse(message.content.toString())).toEqual({ user_id: 'user.7', message: null });
  });

  it.each([
    ['an object user_id', { user_id: { id: 1 }, message: 'x' }, 'user_id'],
    ['a negative user_id', { user_id: -1, message: 'x' }, 'user_id'],
    ['a user_id with a space', { user_id: 'has space', message: 'x' }, 'user_id'],
    ['no user_id', { message: 'x' }, 'user_id (or user_ids) is required'],
    ['both user_id and user_ids', { user_id: 1, user_ids: [2], message: 'x' }, 'give user_id or user_ids, not both'],
    ['an empty user_ids', { user_ids: [], message: 'x' }, 'user_ids must not be empty'],
    ['too many user_ids', { user_ids: [1, 2, 3, 4, 5, 6], message: 'x' }, 'user_ids lists 6 users; at most 5'],
    ['a user_ids that is no list', { user_ids: '1,2', message: 'x' }, 'user_ids must be a list of 1 to 5 user ids'],
    ['a user_ids of nested garbage', { user_ids: [[1], { id: 2 }], message: 'x' }, 'user_ids[0] must be'],
    ['a bad id in user_ids', { user_ids: [1, 'a b'], message: 'x' }, 'user_ids[1] must be'],
    ['a user twice in user_ids', { user_ids: [7, '7'], message: 'x' }, 'user_ids[1] repeats user 7 (user_ids[0])'],
    ['no message', { user_id: 1 }, 'message'],
    ['an empty task_id', { user_id: 1, message: 'x', task_id: '' }, 'task_id'],
    ['a 256-character task_id', { user_id: 1, message: 'x', task_id: 'x'.repeat(256) }, 'task_id'],
    ['an unknown field', { user_id: 1, message: 'x', colour: 'blue' }, 'colour'],
  ])('answers %s with 400 naming %s, and queues nothing', async (_, body, field) => {
    const response = await post(body, SERVICE_TOKEN);
    expect(response.status).toBe(400);
    const { message } = (await response.json()) as { message: string[] };
    expect(message.join(' ')).toContain(field);
    expect((await channel.checkQueue(config.AMQP_QUEUE)).messageCount).toBe(0);
  });

  it('answers a body nesting deeper than 64 levels with 400 before parsing it, and queues nothing', async () => {
    const response = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: `{"user_id":1,"message":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ statusCode: 400, message: 'The JSON body nests deeper than 64 levels' });
    expect((await channel.checkQueue(config.AMQP_QUEUE)).messageCount).toBe(0);
  });

  it('queues {user_ids, message} as given: one message for the list', async () => {
    const response = await post({ user_ids: [42, 'alice'], message: 'to both' }, SERVICE_TOKEN);
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as { task_id: string };
    const message = await nextMessage();
    expect(message.properties.messageId).toBe(task_id);
    expect(JSON.parse(message.content.toString())).toEqual({ user_ids: [42, 'alice'], message: 'to both' });
  });

  it('runs a list task through a worker to one SUCCESS row that counts its users', async () => {
    const response = await post({ user_ids: [91, 92, 93], message: 'list round trip' }, SERVICE_TOKEN);
    const { task_id } = (await response.json()) as { task_id: string };
    const worker = await createWorker(config);
    await worker.listen();
    try {
      const row = await eventually(async () =>
        (await taskRow(task_id))?.status === 'SUCCESS' ? taskRow(task_id) : undefined,
      );
      expect(JSON.parse(row.result as string)).toEqual({
        count: 3,
        groups: ['Notifications_91', 'Notifications_92', 'Notifications_93'],
      });
    } finally {
      await worker.close();
    }
  });

  it("answers 404 for the task until a worker has run it (Celery's PENDING), then its SUCCESS row", async () => {
    const response = await post({ user_id: 9, message: 'round trip' }, SERVICE_TOKEN);
    const { task_id } = (await response.json()) as { task_id: string };
    const result = () => fetch(`${base}/api/tasks/${task_id}`, { headers: { authorization: `Bearer ${admin()}` } });
    expect((await result()).status).toBe(404);
    const worker = await createWorker(config);
    await worker.listen();
    try {
      const found = await eventually(async () => {
        const answer = await result();
        return answer.status === 200 ? answer.json() : undefined;
      });
      expect(found).toMatchObject({ task_id, status: 'SUCCESS', task_kwargs: expect.stringContaining('round trip') });
    } finally {
      await worker.close();
    }
  });

  it('answers 503 when the broker does not confirm in time', async () => {
    // A gateway whose broker is unreachable: its publish times out rather than hanging.
    const offline = await createGateway(
      testConfig({ AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', PUBLISH_API_TOKENS: SERVICE_TOKEN }),
    );
    await offline.listen(0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(offline.getHttpServer().address() as AddressInfo).port}/api/publish`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: '{"user_id":1,"message":"x"}',
      });
      expect(response.status).toBe(503);
    } finally {
      await offline.close();
    }
  }, 20_000);
});

describe('POST /api/publish to a quorum queue (AMQP_QUEUE_TYPE=quorum)', () => {
  it('declares the queue as quorum, as the worker does, and the worker runs the task', async () => {
    const config = testConfig({ AMQP_QUEUE_TYPE: 'quorum', PUBLISH_API_TOKENS: SERVICE_TOKEN });
    const gateway = await createGateway(config);
    const publisher = await TestPublisher.connect(config.AMQP_URL);
    try {
      await gateway.listen(0, '127.0.0.1');
      const base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
      const response = await fetch(`${base}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: JSON.stringify({ user_id: 4, message: 'to a quorum queue' }),
      });
      expect(response.status).toBe(202);
      const { task_id } = (await response.json()) as { task_id: string };
      expect(await redeclareAccepted(config.AMQP_QUEUE, 'quorum')).toBe(true);
      expect(await redeclareAccepted(config.AMQP_QUEUE, 'classic')).toBe(false);
      const worker = await createWorker(config);
      await worker.listen();
      try {
        expect(await eventually(async () => ((await taskRow(task_id))?.status === 'SUCCESS' ? true : undefined))).toBe(
          true,
        );
      } finally {
        await worker.close();
      }
    } finally {
      await gateway.close();
      await publisher.deleteQueue(config.AMQP_QUEUE);
      await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
      await publisher.close();
    }
  });
});

describe('OpenAPI document', () => {
  let gateway: INestApplication;
  let base: string;

  beforeAll(async () => {
    gateway = await createGateway(testConfig());
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => gateway.close());

  it('describes the REST API at /docs-json, and serves Swagger UI at /docs', async () => {
    const document = (await (await fetch(`${base}/docs-json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/publish',
        '/api/broadcast',
        '/api/tasks',
        '/api/tasks/{task_id}',
        '/health/live',
        '/health/ready',
        '/api/admin/dead_letters',
        '/api/admin/dead_letters/requeue',
        '/api/admin/dead_letters/discard',
      ]),
    );
    const stream = document.paths['/api/notifications/stream'].get;
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429']));
    expect(stream.parameters?.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['token', 'since', 'Last-Event-ID']),
    );
    expect(Object.keys(document.paths['/api/publish'].post.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '403']),
    );
    expect(document.paths['/api/tasks'].get.parameters?.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['status', 'page', 'page_size', 'ordering', 'date_done_after']),
    );
    expect(Object.keys(document.paths['/api/broadcast'].post.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '403', '503']),
    );
    expect(document.components.schemas.BroadcastBody.required).toEqual(['message']);
    expect(document.components.schemas.BroadcastAccepted.required).toEqual(['id', 'created_at']);
    expect(document.components.schemas.PublishNotificationBody.required).toEqual(['message']);
    expect(Object.keys(document.components.schemas.PublishNotificationBody.properties!)).toEqual(
      expect.arrayContaining(['user_id', 'user_ids', 'message', 'task_id']),
    );
    const ui = await fetch(`${base}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });
});
