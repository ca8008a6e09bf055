import { parseAppConfig } from '@app/config';
import { createServer, Server } from 'node:net';
import { COMPOSE_UP, preflight, requiredServices } from './preflight.command';

async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

/** A local port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = await listening();
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('preflight', () => {
  let up: Server;
  beforeAll(async () => (up = await listening()));
  afterAll(() => up.close());

  it('names the one service nothing answers for, where it looked and how to start it', async () => {
    const down = await closedPort();
    const report = await preflight(
      parseAppConfig({
        DATABASE_URL: `postgres://postgres:pg-s3cret@127.0.0.1:${portOf(up)}/notifications`,
        REDIS_URL: `redis://127.0.0.1:${portOf(up)}`,
        AMQP_URL: `amqp://guest:amqp-s3cret@127.0.0.1:${down}`,
      }),
    );
    expect(report).toContain(`RabbitMQ is not reachable at 127.0.0.1:${down} (ECONNREFUSED)`);
    expect(report).toContain(`AMQP_URL=amqp://127.0.0.1:${down}`);
    expect(report).toContain('sudo systemctl start rabbitmq-server');
    expect(report).toContain(COMPOSE_UP);
    expect(report).toMatch(/^1 of the 3 services/);
    expect(report).not.toContain('Postgres is not');
    expect(report).not.toContain('Redis is not');
    expect(report).not.toMatch(/s3cret/);
  });

  it('names every service that is down', async () => {
    const down = await closedPort();
    const report = await preflight(
      parseAppConfig({
        DATABASE_URL: `postgres://root@127.0.0.1:${down}/x`,
        REDIS_URL: `redis://127.0.0.1:${down}`,
        AMQP_URL: `amqp://127.0.0.1:${down}`,
      }),
    );
    expect(report).toContain(`Postgres is not reachable at 127.0.0.1:${down}`);
    expect(report).toContain('sudo systemctl start postgresql');
    expect(report).toContain(`Redis is not reachable at 127.0.0.1:${down}`);
    expect(report).toContain('sudo systemctl start redis-server');
    expect(report).toContain('RabbitMQ is not reachable');
  });

  it('says nothing when every service answers', async () => {
    const url = (scheme: string) => `${scheme}://127.0.0.1:${portOf(up)}`;
    expect(
      await preflight(
        parseAppConfig({ DATABASE_URL: url('postgres'), REDIS_URL: url('redis'), AMQP_URL: url('amqp') }),
      ),
    ).toBeNull();
  });

  it('checks each Redis Cluster seed node instead of REDIS_URL, and default ports', () => {
    const services = requiredServices(
      parseAppConfig({ REDIS_CLUSTER_NODES: 'r1:7000,[::1]:7001', DATABASE_URL: 'postgres://db.internal/n' }),
    );
    expect(services.map(({ name, host, port }) => `${name} ${host}:${port}`)).toEqual([
      'Postgres db.internal:5432',
      'Redis r1:7000',
      'Redis ::1:7001',
      'RabbitMQ 127.0.0.1:5672',
    ]);
  });
});
