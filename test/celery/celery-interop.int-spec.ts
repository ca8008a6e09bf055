import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { createDatabaseIfMissing, migrateDatabase } from '@app/persistence';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import {
  TestSocket,
  eventually,
  testConfig,
  uniqueName,
  upgradeStatus,
  withDatabase,
} from '@test/support/test-context';
import { Redis } from 'ioredis';
import { CeleryPeer, removeCeleryTestWorld } from './celery-peer';

/**
 * A Django project moving to this service changes settings only: its unchanged Celery client
 * publishes `send_notification_task`, its django-celery-results reads the outcome, its simplejwt
 * tokens open the socket. Here those are the real Python packages (Debian's Celery 5.2,
 * django-celery-results 2.4, whose table has no date_started), on a database Django migrated.
 */
describe('drop-in for Django + Celery (real Celery client, django-celery-results, simplejwt)', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let gateway: INestApplication;
  let peer: CeleryPeer;
  let wsBase: string;

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL!);
    databaseUrl.pathname = `/notify_celery_${randomBytes(4).toString('hex')}`;
    config = testConfig({ DATABASE_URL: databaseUrl.toString(), WORKER_NAME: 'celery@node-worker' });
    peer = new CeleryPeer(config);
    await createDatabaseIfMissing(config.DATABASE_URL);
    await peer.call('migrate'); // Django creates the table first, as in a project that already runs Celery
    await migrateDatabase(config.DATABASE_URL);
    worker = await createWorker(config);
    await worker.listen();
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    wsBase = `ws://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
  });

  afterAll(async () => {
    await gateway?.close();
    await worker?.close();
    await removeCeleryTestWorld(config);
  });

  it('left the table Django created as it was', async () => {
    const columns = await withDatabase(
      async (db) =>
        (
          await db.query(
            `SELECT column_name FROM information_schema.columns WHERE table_name = 'django_celery_results_taskresult'`,
          )
        ).rows,
      config.DATABASE_URL,
    );
    expect(columns.map((c) => c.column_name)).not.toContain('date_started');
  });

  it('runs send_notification_task.delay(user_id, message): the socket receives it and AsyncResult.get() returns the result', async () => {
    const socket = await TestSocket.open(`${wsBase}?token=${await peer.token(42)}`);
    const taskId = await peer.delay(42, { title: 'Welcome', unread: 3 });
    const outcome = await peer.get(taskId);
    expect(outcome).toMatchObject({
      status: 'SUCCESS',
      result: { notification_id: expect.any(Number), group: 'Notifications_42' },
      args: "(42, {'title': 'Welcome', 'unread': 3})",
      kwargs: '{}',
      worker: 'celery@node-worker',
    });
    const frame = await eventually(() => socket.framesOf('notification')[0]);
    expect(frame).toMatchObject({ type: 'notification', task_id: taskId, message: { title: 'Welcome', unread: 3 } });
    expect(frame.id).toBe((outcome.result as { notification_id: string }).notification_id);
    await socket.close();
  });

  it('binds keyword arguments as Celery would', async () => {
    const taskId = await peer.delay('alice', 'by keyword', '--kwargs');
    expect(await peer.get(taskId)).toMatchObject({ status: 'SUCCESS', result: { group: 'Notifications_alice' } });
  });

  it('writes rows that Django’s ORM, and so its admin, lists', async () => {
    const taskId = await peer.delay(7, 'listed');
    await peer.get(taskId);
    const [row] = await peer.rows(taskId);
    expect(row).toMatchObject({
      task_id: taskId,
      status: 'SUCCESS',
      task_name: 'notifications.tasks.send_notification_task',
      task_args: JSON.stringify("(7, 'listed')"),
      task_kwargs: JSON.stringify('{}'),
      worker: 'celery@node-worker',
      meta: '{"children": []}',
      str: `<Task: ${taskId} (SUCCESS)>`,
    });
  });

  it.each([
    [
      'an unregistered task name',
      (p: CeleryPeer) => p.sendTask('billing.tasks.charge_card', [1]),
      'NotRegistered',
      'billing.tasks.charge_card',
    ],
    [
      'a wrong signature',
      (p: CeleryPeer) => p.sendTask('notifications.tasks.send_notification_task', [1, 'hi', 'extra']),
      'TypeError',
      'takes 2 positional arguments but 3 were given',
    ],
    [
      'a pickled message, never deserialized',
      (p: CeleryPeer) => p.delay(42, 'pickled', '--serializer', 'pickle'),
      'ContentDisallowed',
      'application/x-python-serialize',
    ],
    [
      'a YAML message',
      (p: CeleryPeer) => p.delay(42, 'yaml', '--serializer', 'yaml'),
      'ContentDisallowed',
      'application/x-yaml',
    ],
  ])('records %s as FAILURE the way Celery would', async (_, publish, exception, detail) => {
    const outcome = await peer.get(await publish(peer));
    expect(outcome.status).toBe('FAILURE');
    expect(outcome.result).toMatchObject({ exception });
    expect(JSON.stringify(outcome.result)).toContain(detail);
  });

  it('does not run a task whose expires has passed: REVOKED, nothing delivered', async () => {
    const socket = await TestSocket.open(`${wsBase}?token=${await peer.token(43)}`);
    const taskId = await peer.delay(43, 'too late', '--expires', '-5');
    expect(await peer.get(taskId)).toMatchObject({
      status: 'REVOKED',
      result: { exception: 'TaskRevokedError', args: ['expired'] },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(socket.framesOf('notification')).toEqual([]);
    await socket.close();
  });

  it('runs a task with an eta no earlier than the eta, without holding up the tasks behind it', async () => {
    const socket = await TestSocket.open(`${wsBase}?token=${await peer.token(44)}`);
    const publishedAt = Date.now();
    // Long enough for the next Python client to start and publish (over 2 s on a loaded machine).
    const later = await peer.delay(44, 'later', '--countdown', '5');
    const now = await peer.delay(44, 'now');
    await eventually(() => (socket.framesOf('notification').length === 2 ? true : undefined), 15_000);
    const frames = socket.framesOf('notification');
    expect(frames.map((frame) => frame.task_id)).toEqual([now, later]);
    expect(Date.parse(frames[1].created_at as string)).toBeGreaterThanOrEqual(publishedAt + 5000 - 50);
    await socket.close();
  });

  it('opens the socket with a simplejwt access token and refuses its refresh token', async () => {
    expect(await upgradeStatus(`${wsBase}?token=${await peer.token(42)}`)).toBe('open');
    expect(await upgradeStatus(`${wsBase}?token=${await peer.token(42, 'refresh')}`)).toBe(401);
  });
});

/**
 * The same Django project with CELERY_RESULT_BACKEND = 'django-cache': its AsyncResult reads only
 * the Django cache, which the worker writes with RESULT_BACKENDS=django-db,django-cache. The
 * DatabaseCache case uses exactly the settings the project is documented with; the RedisCache one
 * (django-redis on Debian's Django 3.2) a KEY_PREFIX and VERSION of its own, and a worker with
 * CELERY_RESULT_EXTENDED.
 */
describe.each([
  ['DatabaseCache', 'database'],
  ['RedisCache', 'redis'],
] as const)('drop-in for Django + Celery with django-cache on a %s', (_, cache) => {
  const keyPrefix = uniqueName('celery_cache');
  let config: AppConfig;
  let worker: WorkerApp;
  let peer: CeleryPeer;

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL!);
    databaseUrl.pathname = `/notify_celery_cache_${randomBytes(4).toString('hex')}`;
    const redisUrl = testConfig().REDIS_URL;
    config = testConfig({
      DATABASE_URL: databaseUrl.toString(),
      WORKER_NAME: 'celery@node-worker',
      RESULT_BACKENDS: 'django-db,django-cache',
      RESULT_CACHE: cache,
      ...(cache === 'redis'
        ? {
            RESULT_CACHE_REDIS_URL: redisUrl,
            RESULT_CACHE_KEY_PREFIX: keyPrefix,
            RESULT_CACHE_VERSION: '2',
            CELERY_RESULT_EXTENDED: 'true',
          }
        : {}),
    });
    peer = new CeleryPeer(
      config,
      cache === 'redis'
        ? {
            CELERY_PEER_CACHE: 'redis',
            CELERY_PEER_CACHE_LOCATION: redisUrl,
            CELERY_PEER_CACHE_KEY_PREFIX: keyPrefix,
            CELERY_PEER_CACHE_VERSION: '2',
          }
        : { CELERY_PEER_CACHE: 'database' },
    );
    await createDatabaseIfMissing(config.DATABASE_URL);
    await migrateDatabase(config.DATABASE_URL);
    if (cache === 'database') await peer.call('createcachetable');
    worker = await createWorker(config);
    await worker.listen();
  });

  afterAll(async () => {
    await worker?.close();
    await removeCeleryTestWorld(config);
    if (cache === 'redis') {
      const redis = new Redis(config.REDIS_URL);
      const keys = await redis.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('AsyncResult(id).get() returns the result of send_notification_task.delay()', async () => {
    const taskId = await peer.delay(42, { title: 'Welcome' });
    const outcome = await peer.get(taskId, 15, true);
    expect(outcome).toMatchObject({
      status: 'SUCCESS',
      result: { notification_id: expect.any(Number), group: 'Notifications_42' },
      raised: null,
      traceback: null,
    });
    expect(outcome.date_done).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The Redis worker runs with CELERY_RESULT_EXTENDED; without it Celery stores no request fields.
    expect(outcome).toMatchObject(
      cache === 'redis'
        ? {
            name: 'notifications.tasks.send_notification_task',
            args: [42, { title: 'Welcome' }],
            kwargs: {},
            worker: 'celery@node-worker',
          }
        : { name: null, args: null, kwargs: null, worker: null },
    );
  });

  it.each([
    [
      'an unregistered task name',
      (p: CeleryPeer) => p.sendTask('billing.tasks.charge_card', [1]),
      { exception: 'NotRegistered', module: 'celery.exceptions', args: ['billing.tasks.charge_card'] },
    ],
    [
      'a wrong signature',
      (p: CeleryPeer) => p.sendTask('notifications.tasks.send_notification_task', [1, 'hi', 'extra']),
      {
        exception: 'TypeError',
        module: 'builtins',
        args: ['send_notification_task() takes 2 positional arguments but 3 were given'],
      },
    ],
  ])('AsyncResult(id).get() raises what Celery raises for %s, with .traceback set', async (_, publish, raised) => {
    const outcome = await peer.get(await publish(peer), 15, true);
    expect(outcome.status).toBe('FAILURE');
    expect(outcome.raised).toEqual(raised);
    expect(outcome.traceback).toContain(`${raised.module}.${raised.exception}: `);
  });

  it('AsyncResult(id).get() raises TaskRevokedError for a task whose expires has passed', async () => {
    const outcome = await peer.get(await peer.delay(43, 'too late', '--expires', '-5'), 15, true);
    expect(outcome).toMatchObject({
      status: 'REVOKED',
      raised: { exception: 'TaskRevokedError', module: 'celery.exceptions', args: ['expired'] },
    });
  });
});
