import type { INestApplication } from '@nestjs/common';
import { NotificationClient } from '@app/client';
import type { NotificationClientOptions, NotificationFrame } from '@app/client';
import { deadLetterQueueOf } from '@app/publishing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestPublisher, eventually, signToken, testConfig, withDatabase } from '@test/support/test-context';

/** A `ws` socket that also records every frame it receives, under the socket it came on. */
function recordingWebSocket(frames: Array<{ socket: number; frame: NotificationFrame }>) {
  let sockets = 0;
  return class extends WebSocket {
    constructor(url: string, protocols?: string[]) {
      super(url, protocols);
      const socket = ++sockets;
      this.on('message', (data) => {
        const frame = JSON.parse((data as Buffer).toString());
        if (frame.event === 'notification') frames.push({ socket, frame });
      });
    }
  };
}

/**
 * Two workers on one queue, one of whose Redis goes away for a while: its notifications are
 * committed but published late, after the other worker's later ones for the same users. Clients
 * (the SDK, as an app uses it) are dropped and reconnect again and again. Every client must end
 * with every notification of its user exactly once, in seq order: a later frame arriving first is
 * a gap the gateway fills from the inbox, and resuming from the highest id seen loses nothing.
 */
describe('out-of-order publishes across workers, with clients reconnecting often (real services)', () => {
  const config = testConfig({ RESUME_WINDOW: '1000' });
  // An odd number: the broker hands messages to the two workers in turn, so each user's
  // notifications are shared between both.
  const users = Array.from({ length: 5 }, (_, i) => `ooo-${i}-${randomUUID().slice(0, 6)}`);
  const PER_USER = 40;
  let gateway: INestApplication;
  let workers: WorkerApp[];
  let publisher: TestPublisher;
  let redisOfSlowWorker: TcpProxy;
  let clientsToGateway: TcpProxy;
  let gatewayThroughProxy: string;
  const clients: NotificationClient[] = [];

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    await publisher.declare(config.AMQP_QUEUE);
    const redis = await TcpProxy.start(config.REDIS_URL, 6379);
    redisOfSlowWorker = redis.proxy;
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    const port = (gateway.getHttpServer().address() as AddressInfo).port;
    const toGateway = await TcpProxy.start(`ws://127.0.0.1:${port}`, port);
    clientsToGateway = toGateway.proxy;
    gatewayThroughProxy = toGateway.url;
    workers = [
      await createWorker({ ...config, REDIS_URL: redis.url, WORKER_NAME: 'slow' }),
      await createWorker({ ...config, WORKER_NAME: 'fast' }),
    ];
    for (const worker of workers) await worker.listen();
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await redisOfSlowWorker.restore();
    for (const worker of workers ?? []) await worker.close();
    await gateway?.close();
    await redisOfSlowWorker.cut();
    await clientsToGateway.cut();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  it('ends with every notification of each user exactly once, in seq order, on every client', async () => {
    const framesOf = new Map<string, Array<{ socket: number; frame: NotificationFrame }>>();
    const deliveredTo = new Map<string, NotificationFrame[]>();
    for (const user of users) {
      const frames: Array<{ socket: number; frame: NotificationFrame }> = [];
      const delivered: NotificationFrame[] = [];
      framesOf.set(user, frames);
      deliveredTo.set(user, delivered);
      const client = new NotificationClient({
        url: new URL('/ws/notifications/', gatewayThroughProxy).toString(),
        token: () => signToken({ user_id: user }),
        WebSocket: recordingWebSocket(frames) as unknown as NotificationClientOptions['WebSocket'],
        reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      });
      client.on('notification', (frame) => delivered.push(frame));
      clients.push(client);
      await client.connect();
    }

    // Drop every client now and then while publishing; cut the slow worker's Redis for a while.
    const churn = setInterval(() => void clientsToGateway.cut().then(() => clientsToGateway.restore()), 400);
    const taskIds: string[] = [];
    try {
      for (let round = 0; round < PER_USER; round++) {
        if (round === 5) await redisOfSlowWorker.cut();
        if (round === 25) await redisOfSlowWorker.restore();
        for (const user of users) {
          const taskId = randomUUID();
          taskIds.push(taskId);
          await publisher.publish(config.AMQP_QUEUE, { user_id: user, message: { round } }, { messageId: taskId });
        }
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      await eventually(
        async () => {
          const { rows } = await withDatabase((db) =>
            db.query(
              `SELECT count(*)::int AS n FROM django_celery_results_taskresult WHERE status = 'SUCCESS' AND task_id = ANY($1)`,
              [taskIds],
            ),
          );
          return rows[0].n === taskIds.length ? true : undefined;
        },
        60_000,
        'every task stored',
      );
    } finally {
      clearInterval(churn);
      await clientsToGateway.restore();
    }

    const byWorker = await withDatabase((db) =>
      db.query(
        `SELECT worker, count(*)::int AS n FROM django_celery_results_taskresult WHERE task_id = ANY($1) GROUP BY worker`,
        [taskIds],
      ),
    );
    expect(byWorker.rows.map((row) => row.worker).sort()).toEqual(['fast', 'slow']); // both took part
    const overtaken = await withDatabase((db) =>
      db.query(
        `SELECT count(*)::int AS n FROM notification_inbox AS i JOIN django_celery_results_taskresult AS r USING (task_id)
          WHERE i.task_id = ANY($1) AND r.worker = 'slow' AND EXISTS (
            SELECT 1 FROM notification_inbox AS later JOIN django_celery_results_taskresult AS lr USING (task_id)
             WHERE later.user_id = i.user_id AND later.seq > i.seq AND lr.worker = 'fast')`,
        [taskIds],
      ),
    );
    expect(overtaken.rows[0].n).toBeGreaterThan(0); // the case under test happened
    for (const user of users) {
      const stored = await withDatabase(async (db) =>
        (await db.query('SELECT id::int FROM notification_inbox WHERE user_id = $1 ORDER BY id', [user])).rows.map(
          (row) => row.id,
        ),
      );
      expect(stored).toHaveLength(PER_USER);
      const delivered = deliveredTo.get(user)!;
      await eventually(
        () => (delivered.length >= PER_USER ? true : undefined),
        20_000,
        `all of ${user}'s notifications`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(delivered.map((frame) => frame.id)).toEqual(stored);
      expect(delivered.map((frame) => frame.seq)).toEqual(Array.from({ length: PER_USER }, (_, i) => i + 1));
      // Not only the SDK's de-duplication: the gateway sent each notification once, across every socket.
      const sent = framesOf.get(user)!.map(({ frame }) => frame.id);
      expect(sent).toEqual(stored);
    }
  }, 180_000);
});
