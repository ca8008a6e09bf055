import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { TaskResultRepository } from '@app/persistence';
import { TaskStatus } from '@app/contracts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TestPublisher, TestSocket, eventually, signToken, testConfig, uniqueName } from '@test/support/test-context';
import { TestStream } from '@test/support/test-stream';
import { createGateway } from '../gateway.factory';

/** The admin dashboard's JSON and the demo page's development token, against the real services. */
describe('admin dashboard API and demo token (real Postgres, Redis, RabbitMQ)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let publisher: TestPublisher;
  let base: string;
  const admin = () => signToken({ user_id: 1, is_staff: true });
  const get = async (path: string, token = admin()) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as any };
  };
  const worker = `dash-${randomUUID().slice(0, 8)}`;
  const record = (status: TaskStatus, kwargs: object | null, args: string | null, name = 'send_notification') =>
    gateway.get(TaskResultRepository).record({
      taskId: randomUUID(),
      status,
      result: status === TaskStatus.Success ? '{"notification_id": 1}' : '{"exc_type": "DecodeError"}',
      traceback: status === TaskStatus.Failure ? 'Traceback (most recent call last):\n  DecodeError' : null,
      taskName: name,
      taskArgs: args,
      taskKwargs: kwargs === null ? null : JSON.stringify(kwargs),
      worker,
      receivedAt: new Date(Date.now() - 25),
    });

  beforeAll(async () => {
    // A prefix of its own: presence counts every gateway that shares one.
    config = testConfig({ DEMO_TOKEN_MINT: 'true', REDIS_CHANNEL_PREFIX: `${uniqueName('dashboard')}:` });
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
    publisher = await TestPublisher.connect();
    await record(TaskStatus.Success, { user_id: 'dash-alice', message: 'hi' }, '[]');
    await record(TaskStatus.Success, { user_id: 'dash-alice', message: 'again' }, '[]');
    await record(
      TaskStatus.Failure,
      null,
      JSON.stringify("('dash-bob', {'text': 'x'})"),
      'proj.tasks.send_notification_task',
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await publisher?.deleteQueue(`${config.AMQP_QUEUE}.dead-letter`).catch(() => undefined);
    await publisher?.close();
  });

  it('answers 401 without a token and 403 for a non-admin one', async () => {
    expect((await fetch(`${base}/api/admin/stats`)).status).toBe(401);
    expect((await get('/api/admin/stats', signToken({ user_id: 5 }))).status).toBe(403);
    expect((await get('/api/admin/tasks', signToken({ user_id: 5 }))).status).toBe(403);
  });

  it('counts the broadcasts made in the window', async () => {
    const before = (await get('/api/admin/stats?minutes=5')).body.broadcasts as number;
    const made = await fetch(`${base}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'dashboard' }),
    });
    expect(made.status).toBe(202);
    expect((await get('/api/admin/stats?minutes=5')).body.broadcasts).toBe(before + 1);
  });

  it('counts results by status per minute over the window, with latency, sockets and dead letters', async () => {
    const socket = await TestSocket.open(
      `${base.replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: 'dash-viewer' })}`,
    );
    // A Server-Sent Events stream of the same user: counted beside the socket.
    const stream = await TestStream.open(
      `${base}/api/notifications/stream?token=${signToken({ user_id: 'dash-viewer' })}`,
    );
    const deadLetter = `${config.AMQP_QUEUE}.dead-letter`;
    const before = await get('/api/admin/stats?minutes=5');
    expect(before.body.dead_letter).toEqual({ queue: deadLetter, messages: 0 }); // no such queue yet
    await publisher.declare(deadLetter);
    await publisher.publish(deadLetter, 'bad');
    await publisher.publish(deadLetter, 'worse');

    const { status, body } = await eventually(async () => {
      const answer = await get('/api/admin/stats?minutes=5');
      return answer.body.dead_letter?.messages === 2 && answer.body.sockets.streams === 1 ? answer : undefined;
    });
    expect(status).toBe(200);
    expect(body.window.minutes).toBe(5);
    expect(body.series).toHaveLength(5);
    const minutes = body.series.map((point: { minute: string }) => Date.parse(point.minute));
    expect(minutes.slice(1).map((minute: number, i: number) => minute - minutes[i])).toEqual([
      60_000, 60_000, 60_000, 60_000,
    ]);
    expect(body.totals.SUCCESS).toBeGreaterThanOrEqual(2);
    expect(body.totals.FAILURE).toBeGreaterThanOrEqual(1);
    const summed = body.series.reduce(
      (sum: number, point: { counts: Record<string, number> }) => sum + (point.counts.SUCCESS ?? 0),
      0,
    );
    expect(summed).toBe(body.totals.SUCCESS);
    expect(body.throughput_per_minute).toBeGreaterThan(0);
    expect(body.latency_ms).toEqual({ avg: expect.any(Number), p95: expect.any(Number), count: expect.any(Number) });
    expect(body.sockets).toEqual({
      scope: 'cluster',
      connections: 2,
      streams: 1,
      users: 1,
      gateways: [{ gateway: expect.any(String), connections: 2, streams: 1, users: 1, this: true }],
    });
    await socket.close();
    await stream.close();
  });

  it('lists the most recent tasks filtered by status, a part of the name, or a part of the arguments (user)', async () => {
    const mine = (results: Array<{ worker: string }>) => results.filter((task) => task.worker === worker);
    const all = await get('/api/admin/tasks?limit=200');
    expect(mine(all.body.results)).toHaveLength(3);
    const alice = await get('/api/admin/tasks?user=DASH-ALICE');
    expect(alice.body.results.map((task: any) => JSON.parse(task.task_kwargs).message)).toEqual(['again', 'hi']);
    const bob = await get('/api/admin/tasks?user=dash-bob');
    expect(bob.body.results).toEqual([
      expect.objectContaining({ status: 'FAILURE', traceback: expect.stringContaining('DecodeError') }),
    ]);
    const celery = await get('/api/admin/tasks?name=TASKS.send');
    expect(mine(celery.body.results)).toHaveLength(1);
    const failures = await get('/api/admin/tasks?status=FAILURE');
    expect(failures.body.results.every((task: any) => task.status === 'FAILURE')).toBe(true);
    // LIKE wildcards are literal (other tests' tasks may hold a %: only this test's worker counts).
    expect(mine((await get('/api/admin/tasks?user=%25')).body.results)).toEqual([]);
  });

  it.each([
    ['/api/admin/stats?minutes=2', 'minutes'],
    ['/api/admin/stats?minutes=100000', 'minutes'],
    ['/api/admin/stats?minutes=1e21', 'minutes'],
    ['/api/admin/stats?minutes=0x10', 'minutes'],
    ['/api/admin/tasks?limit=99999999999999999999', 'limit'],
    ['/api/admin/tasks?limit=1e1', 'limit'],
    ['/api/admin/tasks?status=DONE', 'status'],
    ['/api/admin/tasks?limit=0', 'limit'],
    ['/api/admin/tasks?colour=blue', 'colour'],
  ])('answers %s with 400 naming %s', async (path, name) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.message.join(' ')).toContain(name);
  });

  it('mints a development token that opens a socket', async () => {
    const response = await fetch(`${base}/api/demo/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"user_id": "demo-7"}',
    });
    expect(response.status).toBe(201);
    const { token, user_id, expires_in } = (await response.json()) as {
      token: string;
      user_id: string;
      expires_in: number;
    };
    expect({ user_id, expires_in }).toEqual({ user_id: 'demo-7', expires_in: 300 });
    const socket = await TestSocket.open(`${base.replace('http', 'ws')}/ws/notifications/?token=${token}`);
    expect(socket.framesOf('connected')[0]).toMatchObject({ data: { user_id: 'demo-7' } });
    await socket.close();
    expect((await get('/api/admin/stats', token)).status).toBe(403); // never an admin token
    const refused = await fetch(`${base}/api/demo/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"user_id": "a b"}',
    });
    expect(refused.status).toBe(400);
  });

  it('mints no token unless DEMO_TOKEN_MINT is true, even in development, and says how to switch it on', async () => {
    const development = await createGateway(testConfig({ NODE_ENV: 'development' }));
    await development.listen(0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(development.getHttpServer().address() as AddressInfo).port}`;
      const minted = await fetch(`${url}/api/demo/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"user_id": 1}',
      });
      expect(minted.status).toBe(404);
      const probe = await fetch(`${url}/api/demo`);
      expect({ status: probe.status, body: await probe.json() }).toEqual({
        status: 200,
        body: { mint: false, reason: 'switched_off' },
      });
    } finally {
      await development.close();
    }
  });

  it('says so when switched on', async () => {
    expect(await (await fetch(`${base}/api/demo`)).json()).toEqual({ mint: true, reason: null });
  });

  it('has no token endpoint at all with NODE_ENV=production', async () => {
    const production = await createGateway(testConfig({ NODE_ENV: 'production' }));
    await production.listen(0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(production.getHttpServer().address() as AddressInfo).port}`;
      const minted = await fetch(`${url}/api/demo/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"user_id": 1}',
      });
      expect(minted.status).toBe(404);
      expect((await fetch(`${url}/api/demo`)).status).toBe(404);
    } finally {
      await production.close();
    }
  });
});
