import type { INestApplication } from '@nestjs/common';
import { broadcastFrameOf, notificationGroup } from '@app/contracts';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TcpProxy } from '@test/support/tcp-proxy';
import {
  TestSocket,
  eventually,
  signToken,
  storeNotification,
  testConfig,
  withDatabase,
} from '@test/support/test-context';
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

  it('reads back the broadcasts published while it was away, and sends each socket each once', async () => {
    const socket = await TestSocket.open(`${socketUrl}?token=${signToken({ user_id: 'outage-broadcast' })}`);
    try {
      await proxy.cut();
      // What another gateway or a worker does: the row, then PUBLISH of its frame, which this gateway misses.
      const stored = await withDatabase(
        async (db) =>
          (
            await db.query(
              `INSERT INTO broadcast (message) VALUES ('{"text":"while Redis was away"}')
               RETURNING id::text AS id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", message::text AS "messageJson"`,
            )
          ).rows[0] as { id: string; createdAt: string; messageJson: string },
      );
      await publisher.publish(`${config.REDIS_CHANNEL_PREFIX}$broadcast`, broadcastFrameOf(stored));
      await proxy.restore();
      await eventually(() => socket.framesOf('broadcast')[0], 15_000, 'the broadcast published during the outage');
      // Published again once Redis is back: the same id is not sent twice.
      await publisher.publish(`${config.REDIS_CHANNEL_PREFIX}$broadcast`, broadcastFrameOf(stored));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(socket.framesOf('broadcast')).toEqual([
        {
          event: 'broadcast',
          id: Number(stored.id),
          created_at: stored.createdAt,
          message: { text: 'while Redis was away' },
        },
      ]);
    } finally {
      await socket.close();
    }
  });
});
