import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { TestSocket, eventually, signToken, testConfig, uniqueName } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';
import { ClusterPresence } from './cluster-presence';

/**
 * What presence costs Redis: every command the gateway sends about its presence keys, watched with
 * MONITOR, while sockets open and close.
 */
const sameCounts = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([key, value]) => a[key] === value);

describe('cluster presence bookkeeping (real Redis)', () => {
  const prefix = `${uniqueName('presence-cost')}:`;
  // No heartbeat during the test: only connects and disconnects write (batched, at most one each).
  const config = testConfig({ REDIS_CHANNEL_PREFIX: prefix, PRESENCE_TTL_SECONDS: '3600' });
  const reader = new Redis(config.REDIS_URL);
  let gateway: INestApplication;
  // MONITOR holds a connection of its own (ioredis opens it): closed in afterAll, or jest never exits.
  let monitor: Redis;
  let ws: string;
  const commands: string[][] = [];

  beforeAll(async () => {
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    ws = `ws://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
    monitor = await reader.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      // The test's own reads (HGETALL, EXISTS) are not the gateway's.
      if (['hgetall', 'exists'].includes(args[0].toLowerCase())) return;
      if (args.some((arg) => arg.startsWith(`${prefix}{presence}`))) commands.push(args);
    });
    // Let the start-up heartbeat pass before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  afterAll(async () => {
    await gateway.close();
    monitor.disconnect();
    reader.disconnect();
  });

  it('costs at most one command per connect and per disconnect, and ends with the counts the sockets make', async () => {
    const hash = `${prefix}{presence}:gateway:${gateway.get(ClusterPresence).gatewayId}`;
    commands.length = 0;
    const sockets = await Promise.all(
      Array.from({ length: 30 }, (_, i) => TestSocket.open(`${ws}?token=${signToken({ user_id: `u${i % 10}` })}`)),
    );
    const threeEach = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`u${i}`, '3']));
    await eventually(async () => (sameCounts(await reader.hgetall(hash), threeEach) ? true : undefined), 3000);
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.length).toBeLessThanOrEqual(30);
    await Promise.all(sockets.map((socket) => socket.close()));
    await eventually(async () => ((await reader.exists(hash)) === 0 ? true : undefined), 3000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(commands.length).toBeLessThanOrEqual(60);
    expect(new Set(commands.map(([name]) => name.toLowerCase()))).toEqual(new Set(['hset', 'hdel']));
  });
});
