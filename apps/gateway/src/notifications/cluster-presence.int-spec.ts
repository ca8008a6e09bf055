import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { TestSocket, eventually, signToken, testConfig, uniqueName } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

/**
 * What presence costs Redis: every command the gateway sends about its presence keys, watched with
 * MONITOR, while sockets open and close.
 */
describe('cluster presence bookkeeping (real Redis)', () => {
  const prefix = `${uniqueName('presence-cost')}:`;
  // No heartbeat during the test: only connects and disconnects write.
  const config = testConfig({ REDIS_CHANNEL_PREFIX: prefix, PRESENCE_TTL_SECONDS: '3600' });
  const monitorClient = new Redis(config.REDIS_URL);
  let gateway: INestApplication;
  let ws: string;
  const commands: string[][] = [];

  beforeAll(async () => {
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    ws = `ws://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
    const monitor = await monitorClient.monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((arg) => arg.startsWith(`${prefix}{presence}`))) commands.push(args);
    });
    // Let the start-up heartbeat pass before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
  });

  afterAll(async () => {
    await gateway.close();
    monitorClient.disconnect();
  });

  it('costs one command per connect and one per disconnect', async () => {
    commands.length = 0;
    const sockets = await Promise.all(
      Array.from({ length: 30 }, (_, i) => TestSocket.open(`${ws}?token=${signToken({ user_id: `u${i % 10}` })}`)),
    );
    await eventually(() => (commands.length >= 30 ? true : undefined), 3000, 'the connects to be written');
    await Promise.all(sockets.map((socket) => socket.close()));
    await eventually(() => (commands.length >= 60 ? true : undefined), 3000, 'the disconnects to be written');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const names = commands.map(([name]) => name.toLowerCase());
    expect(names).toHaveLength(60);
    expect(names.filter((name) => name === 'hset')).toHaveLength(30 + 20); // 3 sockets per user: 1, 2, 3, then 2, 1
    expect(names.filter((name) => name === 'hdel')).toHaveLength(10);
  });
});
