import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { TcpProxy } from '../../../../test/support/tcp-proxy';
import { eventually, testConfig } from '../../../../test/support/test-context';
import { createGateway } from '../gateway.factory';

/** Each dependency reaches the gateway through a proxy the test can cut, as if that service died. */
describe('gateway health (real Postgres, Redis and RabbitMQ behind proxies)', () => {
  const base = testConfig();
  const proxies: Record<'postgres' | 'redis' | 'rabbitmq', TcpProxy> = {} as never;
  let gateway: INestApplication;
  let url: string;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, body: (await response.json()) as { status: string; info?: object; error?: object } };
  };

  beforeAll(async () => {
    const postgres = await TcpProxy.start(base.DATABASE_URL, 5432);
    const redis = await TcpProxy.start(base.REDIS_URL, 6379);
    const rabbitmq = await TcpProxy.start(base.AMQP_URL, 5672);
    Object.assign(proxies, { postgres: postgres.proxy, redis: redis.proxy, rabbitmq: rabbitmq.proxy });
    gateway = await createGateway(testConfig({ DATABASE_URL: postgres.url, REDIS_URL: redis.url, AMQP_URL: rabbitmq.url }));
    await gateway.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all(Object.values(proxies).map((proxy) => proxy.cut()));
  });

  it('is ready when Postgres, Redis and RabbitMQ are all reachable', async () => {
    const ready = await eventually(async () => {
      const answer = await get('/health/ready');
      return answer.status === 200 ? answer : undefined;
    });
    expect(ready.body).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } } });
    expect(await get('/health/live')).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
  });

  it.each(['postgres', 'redis', 'rabbitmq'] as const)('answers 503 naming %s when it is down, stays live, and recovers', async (name) => {
    await proxies[name].cut();
    try {
      const down = await eventually(async () => {
        const answer = await get('/health/ready');
        return answer.status === 503 ? answer : undefined;
      });
      expect(down.body.status).toBe('error');
      expect(Object.keys(down.body.error ?? {})).toEqual([name]);
      expect((await get('/health/live')).status).toBe(200);
    } finally {
      await proxies[name].restore();
    }
    await eventually(async () => ((await get('/health/ready')).status === 200 ? true : undefined), 15_000, `${name} to be ready again`);
  });
});
