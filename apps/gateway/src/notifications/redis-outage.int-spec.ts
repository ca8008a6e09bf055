import type { INestApplication } from '@nestjs/common';
import { notificationGroup } from '@app/contracts';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestSocket, eventually, signToken, storeNotification, testConfig } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

/**
 * The gateway's Redis goes away (a proxy is cut) while a notification is stored and published, as
 * the worker does it; when Redis is back, the gateway's sockets get it from the inbox.
 */
describe('gateway after losing Redis (real Postgres and Redis, Redis behind a proxy)', () => {
  const config = testConfig();
  let proxy: TcpProxy;
  let gateway: INestApplication;
  let socketUrl: string;
  const publisher = new Redis(config.REDIS_URL);

  beforeAll(async () => {
    const redis = await TcpProxy.start(config.REDIS_URL, 6379);
    proxy = redis.proxy;
    gateway = await createGateway(testConfig({ REDIS_URL: redis.url }));
    await gateway.listen(0, '127.0.0.1');
    socketUrl = `ws://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
  });

  afterAll(async () => {
    await gateway?.close();
    await proxy?.cut();
    publisher.disconnect();
  });

  /** What the worker does: the inbox row, then PUBLISH of its frame. */
  async function notify(userId: string): Promise<number> {
    const { id, frame } = await storeNotification(userId, { text: 'while Redis was away' });
    await publisher.publish(config.REDIS_CHANNEL_PREFIX + notificationGroup(userId), frame);
    return id;
  }

  it('catches up a socket that connected without since and had received nothing', async () => {
    const userId = `outage-${randomUUID().slice(0, 8)}`;
    await notify(userId); // an older notification, which the socket must not be sent again
    const socket = await TestSocket.open(`${socketUrl}?token=${signToken({ user_id: userId })}`);
    try {
      // The position is read after `connected`; give it the time a query takes.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await proxy.cut();
      const missedId = await notify(userId);
      await proxy.restore();
      const delivered = await eventually(
        () => socket.framesOf('notification').find((frame) => frame.id === missedId),
        15_000,
        'the notification published during the outage',
      );
      expect(delivered).toMatchObject({ id: missedId, message: { text: 'while Redis was away' } });
      expect(socket.framesOf('notification').map((frame) => frame.id)).toEqual([missedId]);
    } finally {
      await socket.close();
    }
  });
});
