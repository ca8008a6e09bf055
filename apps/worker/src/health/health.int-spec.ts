import { randomUUID } from 'node:crypto';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestPublisher, eventually, taskRow, testConfig } from '@test/support/test-context';
import { createWorker } from '../worker.factory';
import type { WorkerApp } from '../worker.factory';

/** Each dependency reaches the worker through a proxy the test can cut, as if that service died. */
describe('worker health (real Postgres, Redis and RabbitMQ behind proxies)', () => {
  const base = testConfig();
  const proxies: Record<'postgres' | 'redis' | 'rabbitmq', TcpProxy> = {} as never;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  const get = async (path: string) => {
    const response = await fetch(`${worker.httpUrl()}${path}`);
    return {
      status: response.status,
      body: (await response.json()) as { status: string; info?: object; error?: object },
    };
  };
  const readyStatus = (status: number) => async () => {
    const answer = await get('/health/ready');
    return answer.status === status ? answer : undefined;
  };

  beforeAll(async () => {
    const postgres = await TcpProxy.start(base.DATABASE_URL, 5432);
    const redis = await TcpProxy.start(base.REDIS_URL, 6379);
    const rabbitmq = await TcpProxy.start(base.AMQP_URL, 5672);
    Object.assign(proxies, { postgres: postgres.proxy, redis: redis.proxy, rabbitmq: rabbitmq.proxy });
    worker = await createWorker({ ...base, DATABASE_URL: postgres.url, REDIS_URL: redis.url, AMQP_URL: rabbitmq.url });
    await worker.listen();
    publisher = await TestPublisher.connect(base.AMQP_URL);
  });

  afterAll(async () => {
    await worker?.close();
    await Promise.all(Object.values(proxies).map((proxy) => proxy.cut()));
    await publisher.deleteQueue(base.AMQP_QUEUE);
    await publisher.close();
  });

  it('serves liveness and readiness on its own HTTP port', async () => {
    expect(worker.httpUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ready = await eventually(readyStatus(200));
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
    });
    expect((await get('/health/live')).status).toBe(200);
  });

  it.each(['postgres', 'redis'] as const)(
    'answers 503 naming %s when it is down, stays live, and recovers',
    async (name) => {
      await proxies[name].cut();
      try {
        const down = await eventually(readyStatus(503));
        expect(Object.keys(down.body.error ?? {})).toEqual([name]);
        expect((await get('/health/live')).status).toBe(200);
      } finally {
        await proxies[name].restore();
      }
      await eventually(readyStatus(200), 15_000, `${name} to be ready again`);
    },
  );

  it('reports its own broker connection: down while it is cut, and consuming again once it is back', async () => {
    await proxies.rabbitmq.cut();
    try {
      const down = await eventually(readyStatus(503));
      expect(Object.keys(down.body.error ?? {})).toEqual(['rabbitmq']);
    } finally {
      await proxies.rabbitmq.restore();
    }
    await eventually(readyStatus(200), 15_000, 'the consumer to reconnect');
    const taskId = randomUUID();
    await publisher.publish(base.AMQP_QUEUE, { user_id: 5, message: 'after reconnect' }, { messageId: taskId });
    expect(await eventually(() => taskRow(taskId), 10_000)).toMatchObject({ status: 'SUCCESS' });
  });
});
