import type { AppConfig } from '@app/config';
import { createDatabaseIfMissing, migrateDatabase } from '@app/persistence';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { eventually, testConfig, uniqueName, withDatabase } from '@test/support/test-context';
import { CeleryPeer, removeCeleryTestWorld } from './celery-peer';

type Replies = Record<string, unknown>;

/**
 * The operator's side of Celery, driven by the real Python client (Debian's Celery 5.2): remote
 * control (`celery inspect`, `AsyncResult.revoke()`) on the pidbox. Each run names its own
 * control and event exchanges, so that workers of other runs on the same broker never answer.
 */
describe('Celery remote control (real Celery client: inspect, control, revoke)', () => {
  let config: AppConfig;
  let peer: CeleryPeer;
  const workers = new Map<string, WorkerApp>();

  async function startWorker(name: string, overrides: Partial<AppConfig> = {}): Promise<WorkerApp> {
    const worker = await createWorker({ ...config, ...overrides, WORKER_NAME: name });
    await worker.listen();
    workers.set(name, worker);
    return worker;
  }

  async function stopWorker(name: string): Promise<void> {
    await workers.get(name)?.close();
    workers.delete(name);
  }

  /** Replies from the nodes that answered, by node name. */
  const inspect = (method: string) => peer.call<Replies>('inspect', method);

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL!);
    databaseUrl.pathname = `/notify_celery_ctl_${randomBytes(4).toString('hex')}`;
    config = testConfig({
      DATABASE_URL: databaseUrl.toString(),
      CELERY_CONTROL_EXCHANGE: uniqueName('celery'),
      CELERY_EVENT_EXCHANGE: uniqueName('celeryev'),
    });
    peer = new CeleryPeer(config);
    await createDatabaseIfMissing(config.DATABASE_URL);
    await peer.call('migrate');
    await migrateDatabase(config.DATABASE_URL);
    await startWorker('celery@node-a');
    await startWorker('celery@node-b');
  });

  afterAll(async () => {
    for (const name of [...workers.keys()]) await stopWorker(name);
    await removeCeleryTestWorld(config);
  });

  it('answers celery inspect ping from every Node worker, by name', async () => {
    expect(await inspect('ping')).toEqual({
      'celery@node-a': { ok: 'pong' },
      'celery@node-b': { ok: 'pong' },
    });
  });

  it('answers a ping addressed to one worker from that worker only', async () => {
    const replies = await peer.call<Replies[]>('control', 'ping', '{}', '--destination', 'celery@node-b');
    expect(replies).toEqual([{ 'celery@node-b': { ok: 'pong' } }]);
  });

  it('answers stats, registered, active_queues, conf and active as Celery shapes them', async () => {
    const stats = (await inspect('stats'))['celery@node-a'] as Record<string, any>;
    expect(stats).toMatchObject({
      pid: process.pid,
      pool: { 'max-concurrency': config.AMQP_PREFETCH, processes: [process.pid] },
      broker: { hostname: '127.0.0.1', port: 5672, transport: 'amqp' },
      rusage: { maxrss: expect.any(Number) },
    });
    expect((await inspect('registered'))['celery@node-a']).toEqual(config.CELERY_TASK_NAMES);
    expect((await inspect('active_queues'))['celery@node-b']).toEqual([
      expect.objectContaining({ name: config.AMQP_QUEUE, durable: true }),
    ]);
    const conf = (await inspect('conf'))['celery@node-a'] as Record<string, unknown>;
    expect(conf).toMatchObject({ result_backend: 'django-db', task_default_queue: config.AMQP_QUEUE });
    expect(conf.broker_url).not.toContain(':guest@');
    expect(await inspect('active')).toEqual({ 'celery@node-a': [], 'celery@node-b': [] });
  });

  it('refuses a remote shutdown unless CELERY_CONTROL_ALLOW_SHUTDOWN is set, and stays up', async () => {
    const replies = await peer.call<Replies[]>('control', 'shutdown', '{}');
    expect(replies).toHaveLength(2);
    for (const reply of replies) expect(Object.values(reply)[0]).toEqual({ error: expect.stringContaining('refused') });
    expect(Object.keys(await inspect('ping')).sort()).toEqual(['celery@node-a', 'celery@node-b']);
  });

  it('answers an unknown command with an error, as kombu does', async () => {
    const replies = await peer.call<Replies[]>('control', 'pool_grow', '{"n": 1}');
    expect(replies).toContainEqual({ 'celery@node-a': { error: expect.stringContaining('pool_grow') } });
    const metrics = await (await fetch(`${workers.get('celery@node-a')!.httpUrl()}/metrics`)).text();
    expect(metrics).toMatch(/^notify_control_commands_total\{[^}]*command="unknown"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^notify_control_commands_total\{[^}]*command="ping"[^}]*\} [1-9]/m);
  });

  it('lists a task held for its eta under inspect scheduled; revoked, it never runs and reads REVOKED', async () => {
    const taskId = await peer.delay(51, 'never', '--countdown', '8');
    const scheduled = await eventually(async () => {
      const replies = await inspect('scheduled');
      const held = Object.values(replies).flat() as Array<Record<string, any>>;
      return held.some((entry) => entry.request.id === taskId) ? held : undefined;
    });
    expect(scheduled).toContainEqual({
      eta: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      priority: 0,
      request: expect.objectContaining({
        id: taskId,
        name: 'notifications.tasks.send_notification_task',
        args: "(51, 'never')",
        hostname: expect.stringMatching(/^celery@node-[ab]$/),
      }),
    });

    await peer.call('revoke', taskId);
    const outcome = await peer.get(taskId, 20);
    expect(outcome).toMatchObject({
      status: 'REVOKED',
      result: { exception: 'TaskRevokedError', args: ['revoked'] },
    });
    const [row] = await peer.rows(taskId);
    expect(row).toMatchObject({ status: 'REVOKED', worker: expect.stringMatching(/^celery@node-[ab]$/) });
    expect(await inboxHolds(taskId)).toBe(false);
    expect(Object.values(await inspect('revoked')).flat()).toContain(taskId);
  });

  it('keeps a revoke in Postgres: a worker started after it does not run the task either', async () => {
    const taskId = randomUUID();
    await peer.call('revoke', taskId); // before the task exists, as Celery allows
    await eventually(async () => ((await revokedIds()).includes(taskId) ? true : undefined));
    await stopWorker('celery@node-a');
    await stopWorker('celery@node-b');

    await peer.delay(52, 'revoked before it was sent', '--task-id', taskId, '--countdown', '2');
    await startWorker('celery@node-c');
    expect(await peer.get(taskId, 20)).toMatchObject({
      status: 'REVOKED',
      result: { exception: 'TaskRevokedError', args: ['revoked'] },
    });
    expect(await inboxHolds(taskId)).toBe(false);

    // A task nobody revoked still runs on the same worker.
    const other = await peer.delay(52, 'not revoked');
    expect(await peer.get(other)).toMatchObject({ status: 'SUCCESS' });
  });

  it('does not run a revoked task that waited for its eta in Postgres', async () => {
    await stopWorker('celery@node-c');
    await startWorker('celery@node-d', { DEFERRED_TASK_HOLD_SECONDS: 1 });
    const taskId = await peer.delay(53, 'stored, then revoked', '--countdown', '6');
    await eventually(async () => ((await deferredIds()).includes(taskId) ? true : undefined));
    await peer.call('revoke', taskId);
    expect(await peer.get(taskId, 20)).toMatchObject({
      status: 'REVOKED',
      result: { exception: 'TaskRevokedError', args: ['revoked'] },
    });
    expect(await inboxHolds(taskId)).toBe(false);
  });

  function deferredIds(): Promise<string[]> {
    return withDatabase(
      async (db) => (await db.query(`SELECT task_id FROM deferred_task`)).rows.map((row) => row.task_id as string),
      config.DATABASE_URL,
    );
  }

  function revokedIds(): Promise<string[]> {
    return withDatabase(
      async (db) => (await db.query(`SELECT task_id FROM revoked_task`)).rows.map((row) => row.task_id as string),
      config.DATABASE_URL,
    );
  }

  function inboxHolds(taskId: string): Promise<boolean> {
    return withDatabase(
      async (db) => (await db.query(`SELECT 1 FROM notification_inbox WHERE task_id = $1`, [taskId])).rowCount! > 0,
      config.DATABASE_URL,
    );
  }
});
