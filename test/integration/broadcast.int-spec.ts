import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { NotificationClient } from '@app/client';
import type { BroadcastFrame, NotificationClientOptions } from '@app/client';
import { SocketCloseCode } from '@app/contracts';
import { dropDatabase, migrateDatabase } from '@app/persistence';
import { deadLetterQueueOf } from '@app/publishing';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { GroupSubscriptions } from '../../apps/gateway/src/notifications/group-subscriptions';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { BroadcastRetentionService } from '../../apps/worker/src/broadcast-retention/broadcast-retention.service';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  testConfig,
  uniqueName,
  withDatabase,
} from '@test/support/test-context';

const SERVICE_TOKEN = 'broadcast-service-token-0123456789abcdef';

/**
 * Broadcasts end to end on the real services: two gateways and a worker in process, on a database
 * and a Redis channel prefix of this file's own (a broadcast reaches every socket that shares them).
 */
describe('broadcasts (real Postgres, Redis, RabbitMQ; two gateways and a worker)', () => {
  let config: AppConfig;
  let gateways: INestApplication[];
  let bases: string[];
  let worker: WorkerApp;
  let publisher: TestPublisher;
  const sockets: TestSocket[] = [];

  const db = <T>(run: Parameters<typeof withDatabase<T>>[0]) => withDatabase(run, config.DATABASE_URL);
  const post = (body: unknown, token: string | null = SERVICE_TOKEN, base = bases[0]) =>
    fetch(`${base}/api/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const broadcast = async (message: unknown, base = bases[0]) => {
    const response = await post({ message }, SERVICE_TOKEN, base);
    expect(response.status).toBe(202);
    return (await response.json()) as { id: number; created_at: string };
  };
  const connect = async (userId: string, query = '', gateway = 0) => {
    const socket = await TestSocket.open(
      `${bases[gateway].replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: userId })}${query}`,
    );
    sockets.push(socket);
    return socket;
  };
  const broadcastsOf = (socket: TestSocket) => socket.framesOf('broadcast');
  const rowOf = (taskId: string) =>
    eventually(
      () =>
        db(async (client) => {
          const { rows } = await client.query(
            `SELECT * FROM django_celery_results_taskresult WHERE task_id = $1 AND status <> 'STARTED'`,
            [taskId],
          );
          return rows[0] as Record<string, unknown> | undefined;
        }),
      10_000,
      `the result row of ${taskId}`,
    );
  const broadcastRows = () =>
    db(async (client) => (await client.query(`SELECT id::int, task_id FROM broadcast ORDER BY id`)).rows);

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL!);
    databaseUrl.pathname = `/${uniqueName('notify_broadcast')}`;
    config = testConfig({
      DATABASE_URL: databaseUrl.toString(),
      REDIS_CHANNEL_PREFIX: `${uniqueName('broadcast')}:`,
      PUBLISH_API_TOKENS: SERVICE_TOKEN,
      MAX_MESSAGE_BYTES: '2048',
      BROADCAST_RETENTION_SECONDS: '3600',
    });
    await migrateDatabase(config.DATABASE_URL);
    gateways = [await createGateway(config), await createGateway(config)];
    bases = [];
    for (const gateway of gateways) {
      await gateway.listen(0, '127.0.0.1');
      bases.push(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`);
    }
    publisher = await TestPublisher.connect(config.AMQP_URL);
    worker = await createWorker(config);
    await worker.listen();
  });

  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.close()));
  });

  afterAll(async () => {
    await worker?.close();
    for (const gateway of gateways ?? []) await gateway.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
    await dropDatabase(config.DATABASE_URL);
  });

  describe('POST /api/broadcast', () => {
    it('reaches every socket on both gateways, once, as {event, id, created_at, message}, and no inbox', async () => {
      const [a, b, c] = [await connect('alice'), await connect('bob', '', 1), await connect('alice', '', 1)];
      const message = { text: 'Maintenance at 22:00 UTC', level: ['warn', null, 1.5] };
      const accepted = await broadcast(message);
      expect(accepted).toEqual({ id: expect.any(Number), created_at: expect.any(String) });
      for (const socket of [a, b, c]) await eventually(() => broadcastsOf(socket)[0], 5000, 'the broadcast');
      for (const socket of [a, b, c])
        expect(broadcastsOf(socket)).toEqual([
          { event: 'broadcast', id: accepted.id, created_at: accepted.created_at, message },
        ]);
      const inbox = await db(
        async (client) => (await client.query('SELECT count(*)::int AS n FROM notification_inbox')).rows[0],
      );
      expect(inbox).toEqual({ n: 0 });
    });

    it('takes an admin access token; answers 401 without a valid token and 403 for a user token', async () => {
      const admin = signToken({ user_id: 1, is_staff: true });
      expect((await post({ message: 'by an admin' }, admin)).status).toBe(202);
      expect((await post({ message: 'x' }, null)).status).toBe(401);
      expect((await post({ message: 'x' }, 'not-a-token')).status).toBe(401);
      expect((await post({ message: 'x' }, `${SERVICE_TOKEN}x`)).status).toBe(401);
      expect((await post({ message: 'x' }, signToken({ user_id: 1 }))).status).toBe(403);
    });

    it.each([
      ['no message', {}, 'message is required (any JSON value)'],
      ['another field', { message: 'x', user_id: 1 }, 'property user_id should not exist'],
      [
        'a message over MAX_MESSAGE_BYTES',
        { message: 'x'.repeat(2047) },
        'message is 2049 bytes as JSON; MAX_MESSAGE_BYTES allows 2048',
      ],
    ])('answers %s with 400 saying why, and stores nothing', async (_, body, reason) => {
      const before = (await broadcastRows()).length;
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string[] }).message).toEqual([reason]);
      expect(await broadcastRows()).toHaveLength(before);
    });

    it('answers a body that is not JSON, or nests deeper than 64 levels, with 400 and goes on serving', async () => {
      const malformed = await post('{"message": ');
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ statusCode: 400, message: 'Unexpected end of JSON input' });
      for (const depth of [64, 20_000]) {
        const deep = await post(`{"message":${'['.repeat(depth)}${']'.repeat(depth)}}`);
        expect(deep.status).toBe(400);
        expect(await deep.json()).toEqual({ statusCode: 400, message: 'The JSON body nests deeper than 64 levels' });
      }
      expect((await post({ message: 63 })).status).toBe(202);
      const accepted = await post({ message: JSON.parse('['.repeat(63) + ']'.repeat(63)) });
      expect(accepted.status).toBe(202);
    });
  });

  describe('{"broadcast": true, "message": ...} on the task queue', () => {
    it('is stored once with a SUCCESS row naming it, sent once to every socket, even when redelivered', async () => {
      const [a, b] = [await connect('carol'), await connect('dave', '', 1)];
      const taskId = `broadcast-${randomUUID()}`;
      const body = { broadcast: true, message: { text: 'from a service' } };
      await publisher.publish(config.AMQP_QUEUE, body, { messageId: taskId });
      const row = await rowOf(taskId);
      const { broadcast_id } = JSON.parse(row.result as string) as { broadcast_id: number };
      expect(row).toMatchObject({ status: 'SUCCESS', task_name: 'send_notification' });
      for (const socket of [a, b]) await eventually(() => broadcastsOf(socket)[0], 5000, 'the broadcast');
      // The same task again (a redelivery after a crash): nothing new stored, nothing sent twice.
      await publisher.publish(config.AMQP_QUEUE, body, { messageId: taskId });
      const marker = `after-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, { user_id: 'carol', message: marker }, { messageId: marker });
      await eventually(() => a.framesOf('notification')[0], 5000, 'the notification published after');
      await rowOf(marker);
      expect((await broadcastRows()).filter((stored) => stored.task_id === taskId)).toEqual([
        { id: broadcast_id, task_id: taskId },
      ]);
      for (const socket of [a, b])
        expect(broadcastsOf(socket)).toEqual([
          { event: 'broadcast', id: broadcast_id, created_at: expect.any(String), message: body.message },
        ]);
    });

    it.each([
      [
        'broadcast: "yes"',
        { broadcast: 'yes', message: 'x' },
        'broadcast must be true: an announcement to every connected user',
      ],
      [
        'a user_id beside it',
        { broadcast: true, user_id: 7, message: 'x' },
        'A broadcast goes to every connected user: it takes no user_id or user_ids',
      ],
      ['no message', { broadcast: true }, "send_notification() missing required argument: 'message'"],
    ])('records %s as a FAILURE saying why, and stores nothing', async (_, body, reason) => {
      const taskId = `bad-broadcast-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, body, { messageId: taskId });
      const row = await rowOf(taskId);
      expect(row.status).toBe('FAILURE');
      expect(JSON.parse(row.result as string)).toEqual({
        exc_type: 'TypeError',
        exc_message: [reason],
        exc_module: 'builtins',
      });
      expect((await broadcastRows()).some((stored) => stored.task_id === taskId)).toBe(false);
    });

    it('dead-letters a task id that holds another message, and leaves the first as it was', async () => {
      const taskId = `conflict-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, { broadcast: true, message: 'first' }, { messageId: taskId });
      const first = await rowOf(taskId);
      await publisher.publish(config.AMQP_QUEUE, { broadcast: true, message: 'second' }, { messageId: taskId });
      const dead = await eventually(
        async () => {
          for (;;) {
            const message = await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE));
            if (!message) return undefined;
            if (message.properties.messageId === taskId) return message;
          }
        },
        10_000,
        'the dead letter',
      );
      expect(dead.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'task_id_conflict' });
      expect(await rowOf(taskId)).toMatchObject({ status: 'SUCCESS', result: first.result });
      expect((await broadcastRows()).filter((stored) => stored.task_id === taskId)).toHaveLength(1);
    });
  });

  describe('a task id names one thing', () => {
    const deadLetterOf = (taskId: string) =>
      eventually(
        async () => {
          for (;;) {
            const message = await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE));
            if (!message) return undefined;
            if (message.properties.messageId === taskId) return message;
          }
        },
        10_000,
        'the dead letter',
      );
    const inboxRowsOf = (taskId: string) =>
      db(async (client) => (await client.query(`SELECT id FROM notification_inbox WHERE task_id = $1`, [taskId])).rows);

    it('dead-letters a notification under a broadcast task id, storing and sending nothing', async () => {
      const socket = await connect('kim');
      const taskId = `shared-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, { broadcast: true, message: 'announced' }, { messageId: taskId });
      const row = await rowOf(taskId);
      await publisher.publish(config.AMQP_QUEUE, { user_id: 'kim', message: 'private' }, { messageId: taskId });
      expect((await deadLetterOf(taskId)).properties.headers).toMatchObject({
        'x-dead-letter-reason': 'task_id_conflict',
      });
      expect(await rowOf(taskId)).toMatchObject({ status: 'SUCCESS', result: row.result });
      expect(await inboxRowsOf(taskId)).toEqual([]);
      expect(socket.framesOf('notification')).toEqual([]);
    });

    it('dead-letters a broadcast under a notification task id, storing and sending nothing', async () => {
      const taskId = `shared-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, { user_id: 'lee', message: 'private' }, { messageId: taskId });
      const row = await rowOf(taskId);
      const socket = await connect('lee');
      await publisher.publish(config.AMQP_QUEUE, { broadcast: true, message: 'announced' }, { messageId: taskId });
      expect((await deadLetterOf(taskId)).properties.headers).toMatchObject({
        'x-dead-letter-reason': 'task_id_conflict',
      });
      expect(await rowOf(taskId)).toMatchObject({ status: 'SUCCESS', result: row.result });
      expect((await broadcastRows()).some((stored) => stored.task_id === taskId)).toBe(false);
      expect(broadcastsOf(socket)).toEqual([]);
    });
  });

  describe('resume', () => {
    it('sends what a client missed after broadcast_since, in order, before any live frame, each once', async () => {
      // Ids cross a power of ten (9 to 10, 99 to 100): they must come in numeric order, not text order.
      await db((client) =>
        client.query(
          `SELECT setval('broadcast_id_seq', (10 ^ length((last_value + 1)::text))::bigint - 2) FROM broadcast_id_seq`,
        ),
      );
      const first = await connect('erin');
      const start = first.framesOf('connected')[0].data as { last_id: number; last_broadcast_id: number };
      await first.close();
      const missed = [await broadcast('missed 1'), await broadcast('missed 2', bases[1]), await broadcast('missed 3')];
      const notification = `n-${randomUUID()}`;
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'erin', message: notification },
        { messageId: notification },
      );
      await rowOf(notification);
      const socket = await connect('erin', `&since=${start.last_id}&broadcast_since=${start.last_broadcast_id}`, 1);
      const live = await broadcast('live');
      await eventually(() => broadcastsOf(socket)[3], 5000, 'four broadcasts');
      await eventually(() => socket.framesOf('resumed')[0], 5000, 'resumed');
      expect(socket.framesOf('connected')[0].data).toMatchObject({ last_broadcast_id: start.last_broadcast_id });
      const order = socket.frames.map((frame) => (frame.event === 'broadcast' ? frame.message : frame.event));
      // What it missed comes first; the live broadcast and the stored notification may come in either order after.
      expect(order.slice(0, 4)).toEqual(['connected', 'missed 1', 'missed 2', 'missed 3']);
      expect(order.slice(4).sort()).toEqual(['live', 'notification', 'resumed']);
      expect(broadcastsOf(socket).map((frame) => frame.id)).toEqual([...missed, live].map((made) => made.id));
    });

    it('sends a fresh connection no backlog, and says where it stands in last_broadcast_id', async () => {
      const newest = await broadcast('before the fresh connection');
      const socket = await connect('frank');
      expect(socket.framesOf('connected')[0].data).toMatchObject({ last_broadcast_id: newest.id });
      const live = await broadcast('after it');
      await eventually(() => broadcastsOf(socket)[0], 5000, 'the live broadcast');
      expect(broadcastsOf(socket).map((frame) => frame.id)).toEqual([live.id]);
    });

    it('sends on a resume frame the broadcasts after broadcast_since that this socket was not sent', async () => {
      const socket = await connect('gina');
      const { last_broadcast_id } = socket.framesOf('connected')[0].data as { last_broadcast_id: number };
      const live = await broadcast('seen live');
      await eventually(() => broadcastsOf(socket)[0], 5000, 'the live broadcast');
      // Stored but never published: as if its frame was lost on the way.
      const quiet = await db(
        async (client) =>
          (await client.query(`INSERT INTO broadcast (message) VALUES ('"quiet"') RETURNING id::int`)).rows[0],
      );
      socket.send({ event: 'resume', data: { since: 0, broadcast_since: last_broadcast_id }, ref: 'r1' });
      await eventually(() => socket.framesOf('resumed')[0], 5000, 'resumed');
      expect(broadcastsOf(socket).map((frame) => frame.id)).toEqual([live.id, quiet.id]);
    });

    it('answers a broadcast_since that is no id with an error frame and no backlog', async () => {
      const socket = await connect('hana', '&broadcast_since=-1');
      await eventually(() => socket.framesOf('error')[0], 5000, 'the error frame');
      expect(socket.framesOf('error')[0].data).toEqual({
        code: 'invalid_data',
        message: 'broadcast_since must be a non-negative integer: the last broadcast id seen',
      });
      socket.send({ event: 'resume', data: { since: 0, broadcast_since: 'x' } });
      await eventually(() => socket.framesOf('error')[1], 5000, 'the second error frame');
      expect(broadcastsOf(socket)).toEqual([]);
    });
  });

  describe('retention', () => {
    it('sends no broadcast older than the window on resume, and the worker deletes those', async () => {
      const old = await broadcast('old');
      const recent = await broadcast('recent');
      await db((client) =>
        client.query(`UPDATE broadcast SET created_at = now() - interval '2 hours' WHERE id <= $1`, [old.id]),
      );
      const socket = await connect('ivan', `&broadcast_since=${old.id - 1}`);
      await eventually(() => broadcastsOf(socket)[0], 5000, 'the recent broadcast');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(broadcastsOf(socket).map((frame) => frame.message)).toEqual(['recent']);
      const deleted = await worker.get(BroadcastRetentionService).runOnce();
      expect(deleted).toBeGreaterThanOrEqual(1);
      const ids = (await broadcastRows()).map((row) => row.id as number);
      expect(ids).not.toContain(old.id);
      expect(ids).toContain(recent.id);
    });
  });

  describe('the SDK', () => {
    const clients: NotificationClient[] = [];
    const sdk = (userId: string, gateway: number, options: Partial<NotificationClientOptions> = {}) => {
      const client = new NotificationClient({
        url: `${bases[gateway].replace('http', 'ws')}/ws/notifications/`,
        token: () => signToken({ user_id: userId }),
        WebSocket: WebSocket as unknown as NotificationClientOptions['WebSocket'],
        reconnect: { initialDelayMs: 1000, maxDelayMs: 1000 },
        ...options,
      });
      clients.push(client);
      const received: BroadcastFrame[] = [];
      client.on('broadcast', (frame) => received.push(frame));
      return { client, received };
    };
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
    });

    it('emits broadcasts, and after a drop gets those it missed, in order, then live ones, each once', async () => {
      const { client, received } = sdk('sdk-broadcast', 0);
      await client.connect();
      const first = await broadcast({ n: 1 });
      await eventually(() => received[0], 5000, 'the first broadcast');
      expect(client.lastBroadcastId).toBe(first.id);
      // The server drops the socket (1001); the client comes back after a second.
      gateways[0].get(GroupSubscriptions).closeUser('sdk-broadcast', SocketCloseCode.GoingAway, 'test');
      const missed = [await broadcast({ n: 2 }), await broadcast({ n: 3 }, bases[1])];
      await eventually(() => (client.state === 'connected' && received.length >= 3 ? true : undefined), 10_000);
      const live = await broadcast({ n: 4 });
      await eventually(() => received[3], 5000, 'the live broadcast');
      expect(received.map((frame) => frame.message)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      expect(received.map((frame) => frame.id)).toEqual([first, ...missed, live].map((made) => made.id));
      expect(client.lastBroadcastId).toBe(live.id);
    });

    it('resumes a new client from broadcastSince (kept by the app), on another gateway', async () => {
      const before = await broadcast('kept position');
      const missed = await broadcast('missed while the app was closed');
      const { client, received } = sdk('sdk-broadcast-2', 1, { broadcastSince: before.id });
      await client.connect();
      await eventually(() => received[0], 5000, 'the missed broadcast');
      expect(received.map((frame) => frame.id)).toEqual([missed.id]);
    });
  });
});
