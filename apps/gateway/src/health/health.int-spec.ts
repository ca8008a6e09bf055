import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestSocket, eventually, signToken, testConfig } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

/** Each dependency reaches the gateway through a proxy the test can cut, as if that service died. */
describe('gateway health (real Postgres, Redis and RabbitMQ behind proxies)', () => {
  const base = testConfig();
  const proxies: Record<'postgres' | 'redis' | 'rabbitmq', TcpProxy> = {} as never;
  let gateway: INestApplication;
  let url: string;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return {
      status: response.status,
      body: (await response.json()) as { status: string; info?: object; error?: object },
    };
  };

  beforeAll(async () => {
    const postgres = await TcpProxy.start(base.DATABASE_URL, 5432);
    const redis = await TcpProxy.start(base.REDIS_URL, 6379);
    const rabbitmq = await TcpProxy.start(base.AMQP_URL, 5672);
    Object.assign(proxies, { postgres: postgres.proxy, redis: redis.proxy, rabbitmq: rabbitmq.proxy });
    gateway = await createGateway(
      testConfig({ DATABASE_URL: postgres.url, REDIS_URL: redis.url, AMQP_URL: rabbitmq.url }),
    );
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
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' }, rabbitmq: { status: 'up' } },
    });
    expect(await get('/health/live')).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
  });

  it.each(['postgres', 'redis', 'rabbitmq'] as const)(
    'answers 503 naming %s when it is down, stays live, and recovers',
    async (name) => {
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
      await eventually(
        async () => ((await get('/health/ready')).status === 200 ? true : undefined),
        15_000,
        `${name} to be ready again`,
      );
    },
  );

  it('answers an admin route exactly {"statusCode":500,"message":"Internal server error"} while Postgres is cut', async () => {
    await proxies.postgres.cut();
    try {
      const response = await fetch(`${url}/api/tasks`, {
        headers: { authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}` },
      });
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('{"statusCode":500,"message":"Internal server error"}');
    } finally {
      await proxies.postgres.restore();
    }
    await eventually(async () => ((await get('/health/ready')).status === 200 ? true : undefined), 15_000);
  });
});

describe('gateway readiness when a dependency accepts connections and never answers', () => {
  const base = testConfig();
  const proxies: Array<TcpProxy> = [];
  let gateway: INestApplication;
  let url: string;

  beforeAll(async () => {
    const postgres = await TcpProxy.start(base.DATABASE_URL, 5432);
    const redis = await TcpProxy.start(base.REDIS_URL, 6379);
    proxies.push(postgres.proxy, redis.proxy);
    gateway = await createGateway(testConfig({ DATABASE_URL: postgres.url, REDIS_URL: redis.url }));
    await gateway.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await gateway?.close();
  });

  it('gives up on each hanging check after 2 s and answers 503 naming them', async () => {
    await eventually(async () => ((await fetch(`${url}/health/ready`)).status === 200 ? true : undefined));
    proxies.forEach((proxy) => proxy.stall());
    const started = Date.now();
    const response = await fetch(`${url}/health/ready`);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(503);
    expect(Object.keys(((await response.json()) as { error: object }).error).sort()).toEqual(['postgres', 'redis']);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(4000);
  });
});

/**
 * Delivery depends on the gateway's Redis subscriber connection, not on the publisher connection
 * the readiness check used to ping: losing only the subscriber must make the gateway unready.
 */
describe('gateway readiness when only its Redis subscriber connection is lost', () => {
  const base = testConfig();
  const admin = new Redis(base.REDIS_URL);
  let redis: TcpProxy;
  let gateway: INestApplication;
  let url: string;
  const ready = async () => {
    const response = await fetch(`${url}/health/ready`);
    return { status: response.status, body: (await response.json()) as { error?: object } };
  };

  /** This gateway's Redis connections (through its proxy) as CLIENT LIST shows them, by connection name. */
  async function gatewayConnections(name: string): Promise<Array<Record<string, string>>> {
    const ports = new Set(redis.upstreamPorts());
    const clients = ((await admin.client('LIST')) as string)
      .split('\n')
      .map((line) => Object.fromEntries(line.split(' ').map((field) => field.split('='))));
    return clients.filter((client) => client.name === name && ports.has(Number(client.addr?.split(':').pop())));
  }

  /** Kills the gateway's subscriber connection at the server; its publisher connection stays up. */
  async function dropSubscriberConnection(): Promise<void> {
    const [subscribers, publishers] = await Promise.all([
      gatewayConnections('notifications-subscriber'),
      gatewayConnections('notifications-publisher'),
    ]);
    expect([subscribers.length, publishers.length]).toEqual([1, 1]);
    await admin.client('KILL', 'ID', subscribers[0].id);
  }

  beforeAll(async () => {
    let proxyUrl: string;
    ({ proxy: redis, url: proxyUrl } = await TcpProxy.start(base.REDIS_URL, 6379));
    gateway = await createGateway(testConfig({ REDIS_URL: proxyUrl }));
    await gateway.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await gateway?.close();
    await redis?.cut();
    admin.disconnect();
  });

  it('answers 503 naming redis while the subscriber cannot reconnect, and 200 once it has', async () => {
    // A socket makes the gateway subscribe, so the check pings a connection in subscriber mode.
    const socket = await TestSocket.open(
      `${url.replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: 'ready-check' })}`,
    );
    try {
      await eventually(async () => ((await ready()).status === 200 ? true : undefined));
      redis.refuseNew();
      await dropSubscriberConnection();
      const down = await eventually(async () => {
        const answer = await ready();
        return answer.status === 503 ? answer : undefined;
      });
      expect(Object.keys(down.body.error ?? {})).toEqual(['redis']);
      await redis.restore();
      await eventually(
        async () => ((await ready()).status === 200 ? true : undefined),
        15_000,
        'the subscriber to reconnect',
      );
    } finally {
      await redis.restore();
      await socket.close();
    }
  });
});
