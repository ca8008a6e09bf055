import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { RedisFanout } from '@app/fanout';
import { TaskResultRepository } from '@app/persistence';
import { TaskStatus } from '@app/contracts';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TestSocket, eventually, signToken, testConfig, upgradeStatus } from '@test/support/test-context';
import { WebSocket } from 'ws';
import { createGateway } from './gateway.factory';

describe('gateway (real WebSocket, Postgres and Redis)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let publisher: RedisFanout;
  let base: string;
  let wsBase: string;
  const adminToken = () => signToken({ user_id: 1, is_staff: true });
  const userToken = (userId: unknown = 42) => signToken({ user_id: userId });

  beforeAll(async () => {
    config = testConfig({ WS_MAX_PAYLOAD_BYTES: '1024' });
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    const { port } = gateway.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}/ws/notifications/`;
    publisher = new RedisFanout(config);
  });

  afterAll(async () => {
    await gateway.close();
    await publisher.onModuleDestroy();
  });

  describe('WebSocket handshake', () => {
    it.each([
      ['the token query parameter', () => upgradeStatus(`${wsBase}?token=${userToken()}`)],
      ['the path without a trailing slash', () => upgradeStatus(`${wsBase.slice(0, -1)}?token=${userToken()}`)],
      ['the bearer subprotocol pair', () => upgradeStatus(wsBase, ['bearer', userToken()])],
    ])('opens with %s', async (_, attempt) => {
      expect(await attempt()).toBe('open');
    });

    it('selects the bearer subprotocol, never echoing the token', async () => {
      const socket = await TestSocket.open(wsBase, ['bearer', userToken()]);
      expect(socket.socket.protocol).toBe('bearer');
      await socket.close();
    });

    it.each([
      ['no token', ''],
      ['a malformed token', '?token=abc'],
      ['a wrongly signed token', `?token=${signToken({ user_id: 1 }, 'not-the-secret')}`],
      [
        'an expired token',
        `?token=${signToken({ user_id: 1, exp: Math.floor(Date.now() / 1000) - 120 }, undefined, {})}`,
      ],
      ['an alg:none token', `?token=${signToken({ user_id: 1 }, '', { algorithm: 'none' })}`],
      ['a token whose user id is an object', `?token=${userToken({ id: 1 })}`],
    ])('answers %s with HTTP 401', async (_, query) => {
      expect(await upgradeStatus(`${wsBase}${query}`)).toBe(401);
    });
  });

  describe('frames', () => {
    let socket: TestSocket;
    beforeEach(async () => {
      socket = await TestSocket.open(`${wsBase}?token=${userToken()}`);
    });
    afterEach(() => socket.close());

    it('greets with the connection and group', () => {
      expect(socket.framesOf('connected')[0]).toEqual({
        event: 'connected',
        data: {
          connection_id: expect.any(String),
          user_id: '42',
          group: 'Notifications_42',
          last_id: expect.any(Number),
          last_broadcast_id: expect.any(Number),
        },
      });
    });

    it('answers ping with pong', async () => {
      socket.send({ event: 'ping', data: { n: 1 } });
      expect(await socket.nextFrame()).toEqual({ event: 'pong', data: { n: 1 } });
    });

    it.each([
      ['invalid JSON', '{"event"', 'invalid_json'],
      ['an unknown event', { event: 'join', data: 'Notifications_1' }, 'unknown_event'],
      ['a frame without event', { data: 1 }, 'invalid_frame'],
    ])('answers %s with an error frame and stays open', async (_, frame, code) => {
      socket.send(frame);
      expect(await socket.nextFrame()).toEqual({ event: 'error', data: { code, message: expect.any(String) } });
      socket.send({ event: 'ping' });
      expect(await socket.nextFrame()).toEqual({ event: 'pong', data: null });
    });

    it.each([
      ['ping', { event: 'ping', data: 7, ref: 'p1' }, { event: 'pong', data: 7, ref: 'p1' }],
      ['read', { event: 'read', data: { ids: [987654321] }, ref: 5 }, { event: 'read_confirmed', ref: 5 }],
      [
        'a bad read',
        { event: 'read', data: {}, ref: 'r2' },
        { event: 'error', data: { code: 'invalid_data' }, ref: 'r2' },
      ],
      ['resume', { event: 'resume', data: { since: 0 }, ref: 'c3' }, { event: 'resumed', ref: 'c3' }],
      [
        'an unknown event',
        { event: 'join', ref: 'u4' },
        { event: 'error', data: { code: 'unknown_event' }, ref: 'u4' },
      ],
    ])('echoes the ref of %s on its answer', async (_, frame, answer) => {
      socket.send(frame);
      expect(await eventually(() => socket.frames.find((each) => each.ref !== undefined))).toMatchObject(answer);
    });

    it.each([[''], ['x'.repeat(65)], [1.5], [{ id: 1 }]])('refuses the ref %j with invalid_frame', async (ref) => {
      socket.send({ event: 'ping', data: 1, ref });
      expect(await socket.nextFrame()).toEqual({
        event: 'error',
        data: { code: 'invalid_frame', message: 'ref must be a string of 1-64 characters or an integer' },
      });
    });

    it('refuses binary frames with an error frame', async () => {
      socket.socket.send(Buffer.from('{"event":"ping"}'), { binary: true });
      expect(await socket.nextFrame()).toMatchObject({ event: 'error', data: { code: 'binary_not_supported' } });
    });

    it('closes with 1009 on a frame over the size limit', async () => {
      socket.send({ event: 'ping', data: 'x'.repeat(2000) });
      await eventually(() => socket.closeCode ?? undefined);
      expect(socket.closeCode).toBe(1009);
    });

    it('delivers a frame published to its group, and not one for another group', async () => {
      await publisher.publish('Notifications_43', '{"event":"notification","message":"not yours"}');
      await publisher.publish('Notifications_42', '{"event":"notification","message":"yours"}');
      await eventually(() => socket.framesOf('notification')[0]);
      expect(socket.framesOf('notification')).toEqual([{ event: 'notification', message: 'yours' }]);
    });
  });

  describe('metrics', () => {
    it('counts sockets, refusals and frames on /metrics, with no per-user labels', async () => {
      const socket = await TestSocket.open(`${wsBase}?token=${userToken(4242)}`);
      socket.send({ event: 'ping' });
      await socket.nextFrame();
      await upgradeStatus(`${wsBase}?token=garbage`);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/^notify_sockets_open\{service="gateway"\} [1-9]/m);
      expect(text).toMatch(/^notify_handshake_refusals_total\{status="401",service="gateway"\} [1-9]/m);
      expect(text).toMatch(/^notify_frames_in_total\{event="ping",service="gateway"\} [1-9]/m);
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).not.toContain('4242');
      await socket.close();
    });
  });

  describe('admin REST', () => {
    const get = (path: string, token?: string) =>
      fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const taskId = randomUUID();

    beforeAll(async () => {
      await gateway.get(TaskResultRepository).record({
        taskId,
        status: TaskStatus.Success,
        result: '{"gateways":1}',
        taskName: 'send_notification',
        taskArgs: '[]',
        taskKwargs: '{}',
        worker: 'rest-spec-worker',
        receivedAt: new Date(),
      });
    });

    it('answers 401 without a token and 403 for a non-admin one', async () => {
      expect((await get('/api/tasks')).status).toBe(401);
      expect((await get('/api/tasks', 'garbage')).status).toBe(401);
      expect((await get('/api/tasks', userToken())).status).toBe(403);
      expect((await get(`/api/tasks/${taskId}`, userToken())).status).toBe(403);
    });

    it('lists results with filters and a total count', async () => {
      const response = await get('/api/tasks?worker=rest-spec-worker&status=SUCCESS&page_size=10', adminToken());
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        count: 1,
        page: 1,
        page_size: 10,
        results: [
          expect.objectContaining({
            task_id: taskId,
            status: 'SUCCESS',
            result: { gateways: 1 },
            meta: { children: [] },
          }),
        ],
      });
    });

    it('shows one result, and 404 for an unknown task', async () => {
      const found = await get(`/api/tasks/${taskId}`, adminToken());
      expect(found.status).toBe(200);
      expect(await found.json()).toMatchObject({ task_id: taskId, worker: 'rest-spec-worker' });
      const missing = await get(`/api/tasks/${randomUUID()}`, adminToken());
      expect(missing.status).toBe(404);
    });

    it.each([
      ['page_size=100000', 'page_size'],
      ['page=1e21', 'page'],
      ['page=99999999999999999999', 'page'],
      ['page_size=0x10', 'page_size'],
      ['status=DONE', 'status'],
      ['date_done_after=tomorrow', 'date_done_after'],
      ['colour=blue', 'colour'],
    ])('answers ?%s with 400 naming %s', async (query, name) => {
      const response = await get(`/api/tasks?${query}`, adminToken());
      expect(response.status).toBe(400);
      const body = (await response.json()) as { message: string[] };
      expect(body.message.join(' ')).toContain(name);
      expect(JSON.stringify(body)).not.toMatch(/SELECT|stack/i);
    });
  });
});

describe('gateway with WS_TOKEN_EXPIRY_GRACE_SECONDS=12 and the default frame size limit', () => {
  let gateway: INestApplication;
  let strictGateway: INestApplication;
  const wsBaseOf = (app: INestApplication) =>
    `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;

  beforeAll(async () => {
    gateway = await createGateway(testConfig({ WS_TOKEN_EXPIRY_GRACE_SECONDS: '12' }));
    strictGateway = await createGateway(testConfig({ WS_TOKEN_EXPIRY_GRACE_SECONDS: '0' }));
    await gateway.listen(0, '127.0.0.1');
    await strictGateway.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await gateway.close();
    await strictGateway.close();
  });

  /** A token that expired 10 s ago: inside the default 30 s clock tolerance, so the handshake admits it. */
  const expiredTenSecondsAgo = () =>
    signToken({ user_id: 'grace', exp: Math.floor(Date.now() / 1000) - 10 }, undefined, {});

  it('admits a token 10 s past exp and delays the 4001 by the grace', async () => {
    const token = expiredTenSecondsAgo();
    const strict = new WebSocket(`${wsBaseOf(strictGateway)}?token=${token}`);
    const strictClose = new Promise<number>((resolve) => strict.once('close', resolve));
    const graced = await TestSocket.open(`${wsBaseOf(gateway)}?token=${token}`);
    // Without grace the socket is opened (the tolerance admits the token) and closed 4001 at once.
    expect(await strictClose).toBe(4001);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(graced.closeCode).toBeNull();
    await eventually(() => graced.closeCode ?? undefined, 6000, 'the 4001 after the grace');
    expect(graced.closeCode).toBe(4001);
  });

  it('answers read with 1,001 ids with invalid_data and stays open; 1,000 are accepted', async () => {
    const socket = await TestSocket.open(`${wsBaseOf(gateway)}?token=${signToken({ user_id: 'many-ids' })}`);
    try {
      const ids = Array.from({ length: 1001 }, (_, i) => i + 1);
      socket.send({ event: 'read', data: { ids } });
      expect(await socket.nextFrame()).toEqual({
        event: 'error',
        data: { code: 'invalid_data', message: expect.stringContaining('1000') },
      });
      socket.send({ event: 'read', data: { ids: ids.slice(0, 1000) } });
      expect(await socket.nextFrame()).toMatchObject({ event: 'read_confirmed', data: { ids: [] } });
      expect(socket.closeCode).toBeNull();
    } finally {
      await socket.close();
    }
  });

  it.each(['abc', '-1', '1.5', '99999999999999999999'])(
    'answers a malformed ?since=%s at connect with invalid_data and keeps the socket open',
    async (since) => {
      const socket = await TestSocket.open(
        `${wsBaseOf(gateway)}?token=${signToken({ user_id: 'bad-since' })}&since=${since}`,
      );
      try {
        await eventually(() => socket.framesOf('error')[0]);
        expect(socket.framesOf('error')).toEqual([
          { event: 'error', data: { code: 'invalid_data', message: expect.stringContaining('since') } },
        ]);
        socket.send({ event: 'ping' });
        expect(await socket.nextFrame()).toEqual({ event: 'pong', data: null });
      } finally {
        await socket.close();
      }
    },
  );
});
