import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { RedisFanout } from '@app/fanout';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  taskRow,
  testConfig,
  upgradeStatus,
} from '@test/support/test-context';
import { TestStream } from '@test/support/test-stream';

const ALLOWED_ORIGIN = 'http://app.example';

/**
 * `GET /api/notifications/stream` against real gateways, a real worker, Postgres, Redis and
 * RabbitMQ, read by a plain HTTP client that records the wire: the SSE stream is a connection like a
 * socket (same frames, catch-up, limits, expiry, disconnect, shutdown, slow-client rule).
 */
describe('Server-Sent Events stream (real gateways, worker and services)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let fanout: RedisFanout;
  let base: string;
  const extraGateways: INestApplication[] = [];
  const streams: TestStream[] = [];

  const startGateway = async () => {
    const app = await createGateway(config);
    await app.listen(0, '127.0.0.1');
    return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}` };
  };
  const newUser = () => `sse-${randomUUID().slice(0, 8)}`;
  const token = (userId: string, expiresIn = 300) => signToken({ user_id: userId }, undefined, { expiresIn });
  const open = async (url: string, userId: string, headers: Record<string, string> = {}, options = {}) => {
    const stream = await TestStream.open(url, { authorization: `Bearer ${token(userId)}`, ...headers }, options);
    streams.push(stream);
    return stream;
  };
  const notify = (userId: string, message: unknown) => publisher.notify(config.AMQP_QUEUE, userId, message);
  const metric = async (url: string, name: string, labels = '') => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((each) => each.startsWith(name) && each.includes(labels) && !each.startsWith('#'));
    return Number(line?.split(' ').pop() ?? 0);
  };

  beforeAll(async () => {
    config = testConfig({
      SSE_KEEPALIVE_SECONDS: '1',
      SSE_RETRY_MS: '1500',
      RESUME_WINDOW: '5',
      WS_MAX_SOCKETS_PER_USER: '2',
      WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '1000',
      WS_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
      WS_MAX_BUFFERED_BYTES: '65536',
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
    });
    ({ app: gateway, url: base } = await startGateway());
    worker = await createWorker(config);
    await worker.listen();
    publisher = await TestPublisher.connect();
    fanout = new RedisFanout(config);
  });

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
  });

  afterAll(async () => {
    await Promise.all(extraGateways.map((app) => app.close()));
    await gateway?.close();
    await worker?.close();
    await fanout?.onModuleDestroy();
    await publisher?.deleteQueue(config.AMQP_QUEUE);
    await publisher?.deleteQueue(`${config.AMQP_QUEUE}.dead-letter`);
    await publisher?.close();
  });

  it('delivers a notification from the worker as one event: id, event name, and the exact frame a socket gets', async () => {
    const user = newUser();
    const socket = await TestSocket.open(`${base.replace('http', 'ws')}/ws/notifications/?token=${token(user)}`);
    const rawFrames: string[] = [];
    socket.socket.on('message', (data) => rawFrames.push((data as Buffer).toString()));
    const stream = await open(`${base}/api/notifications/stream`, user);
    expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.retry).toBe(1500);
    const connected = stream.framesOf('connected')[0];
    expect(connected).toMatchObject({ event: 'connected', data: { user_id: user } });
    expect(stream.eventsOf('connected')[0].id).toBe(String((connected.data as { last_id: number }).last_id));

    const id = await notify(user, { text: 'over SSE', nested: { n: 1 } });
    const [event] = await eventually(() =>
      stream.eventsOf('notification').length ? stream.eventsOf('notification') : undefined,
    );
    const socketFrame = await eventually(() => rawFrames.find((frame) => frame.includes('"event":"notification"')));
    expect(event.id).toBe(String(id));
    expect(event.data).toBe(socketFrame);
    expect(JSON.parse(event.data)).toMatchObject({ id, message: { text: 'over SSE', nested: { n: 1 } } });
    await socket.close();
  });

  it('sends read receipts as event: read, and a comment line every SSE_KEEPALIVE_SECONDS', async () => {
    const user = newUser();
    const stream = await open(`${base}/api/notifications/stream`, user);
    const id = await notify(user, 'to be read');
    await eventually(() => stream.eventsOf('notification')[0]);
    const answer = await fetch(`${base}/api/notifications/${id}/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(user)}` },
    });
    expect(answer.status).toBeLessThan(300);
    const [read] = await eventually(() => (stream.framesOf('read').length ? stream.framesOf('read') : undefined));
    expect(read).toMatchObject({ event: 'read', data: { ids: [id], all: false } });
    await eventually(() => (stream.comments >= 2 ? true : undefined), 5000, 'two keep-alive comments');
  });

  it('ends with event: error naming shutdown when its gateway stops, and resumes exactly via Last-Event-ID on another', async () => {
    const user = newUser();
    const first = await startGateway();
    const stream = await open(`${first.url}/api/notifications/stream`, user);
    const delivered = [await notify(user, 1), await notify(user, 2)];
    await eventually(() => (stream.eventsOf('notification').length === 2 ? true : undefined));
    await first.app.close();
    await eventually(() => (stream.ended ? true : undefined), 5000, 'the stream to end');
    expect(stream.framesOf('error').at(-1)).toMatchObject({ data: { code: 'shutdown', close_code: 1001 } });

    const missed = [await notify(user, 3), await notify(user, 4)];
    const lastEventId = stream.eventsOf('notification').at(-1)!.id!;
    expect(lastEventId).toBe(String(delivered[1]));
    const resumed = await open(`${base}/api/notifications/stream?since=0`, user, { 'last-event-id': lastEventId });
    await eventually(() => resumed.framesOf('resumed')[0]);
    expect(resumed.eventsOf('notification').map((event) => Number(event.id))).toEqual(missed);
    expect(resumed.framesOf('resumed')[0]).toMatchObject({
      data: { since: delivered[1], count: 2, last_id: missed[1] },
    });
    const live = await notify(user, 5);
    await eventually(() => (resumed.eventsOf('notification').length === 3 ? true : undefined));
    expect(resumed.eventsOf('notification').map((event) => Number(event.id))).toEqual([...missed, live]);
  });

  it('resumes with ?since= as a socket does, and answers more than RESUME_WINDOW missed with event: resume_gap', async () => {
    const user = newUser();
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(await notify(user, i));
    const within = await open(`${base}/api/notifications/stream?since=${ids[3]}`, user);
    await eventually(() => within.framesOf('resumed')[0]);
    expect(within.eventsOf('notification').map((event) => Number(event.id))).toEqual(ids.slice(4));

    const beyond = await open(`${base}/api/notifications/stream?since=${ids[0]}`, user);
    const [gap] = await eventually(() =>
      beyond.framesOf('resume_gap').length ? beyond.framesOf('resume_gap') : undefined,
    );
    expect(gap).toMatchObject({ data: { since: ids[0], window: 5, fetch: `/api/notifications?after=${ids[0]}` } });
    expect(beyond.eventsOf('notification')).toEqual([]);
  });

  it.each([
    ['Last-Event-ID', { 'last-event-id': 'abc' }, '', /^Last-Event-ID must be a notification id/],
    ['Last-Event-ID', { 'last-event-id': '-1' }, '', /^Last-Event-ID must be/],
    ['Last-Event-ID', { 'last-event-id': '1'.repeat(17) }, '', /^Last-Event-ID must be/],
    ['Last-Event-ID', { 'last-event-id': '9007199254740993' }, '', /^Last-Event-ID must be/],
    ['since', {}, '?since=1e3', /^since must be a notification id/],
    ['since', {}, '?since=1&since=2', /^since must be given once/],
  ])('refuses a garbage %s with 400 and a precise body, before any stream byte', async (_, headers, query, message) => {
    const user = newUser();
    const refusal = await TestStream.refusal(`${base}/api/notifications/stream${query}`, {
      authorization: `Bearer ${token(user)}`,
      ...headers,
    });
    expect(refusal.status).toBe(400);
    expect(refusal.type).toMatch(/^application\/json/);
    expect(refusal.body).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(message),
    });
  });

  it('refuses no token and a bad one with 401, a foreign Origin with 403, as JSON before any stream byte', async () => {
    const url = `${base}/api/notifications/stream`;
    expect(await TestStream.refusal(url)).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'Unauthorized' },
    });
    expect(await TestStream.refusal(`${url}?token=${signToken({ user_id: 'x' }, 'not-the-secret')}`)).toMatchObject({
      status: 401,
    });
    expect(await TestStream.refusal(`${url}?token=${token('x', -10)}`)).toMatchObject({ status: 401 });
    const foreign = await TestStream.refusal(`${url}?token=${token('x')}`, { origin: 'http://evil.example' });
    expect(foreign).toMatchObject({ status: 403, body: { statusCode: 403, message: 'Origin not allowed' } });
    // The token as a query parameter, from the allowed origin, as a browser's EventSource sends it.
    const user = newUser();
    const allowed = await TestStream.open(`${url}?token=${token(user)}`, { origin: ALLOWED_ORIGIN });
    streams.push(allowed);
    expect(allowed.framesOf('connected')[0]).toMatchObject({ data: { user_id: user } });
  });

  it('counts streams and sockets together against WS_MAX_SOCKETS_PER_USER (429 for either past it)', async () => {
    const user = newUser();
    const socket = await TestSocket.open(`${base.replace('http', 'ws')}/ws/notifications/?token=${token(user)}`);
    const stream = await open(`${base}/api/notifications/stream`, user);
    const refusal = await TestStream.refusal(`${base}/api/notifications/stream?token=${token(user)}`);
    expect(refusal).toMatchObject({
      status: 429,
      body: { statusCode: 429, message: 'too many sockets for this user' },
    });
    expect(await upgradeStatus(`${base.replace('http', 'ws')}/ws/notifications/?token=${token(user)}`)).toBe(429);
    await stream.close();
    // The stream's slot is given back when it closes.
    const again = await eventually(async () =>
      TestStream.open(`${base}/api/notifications/stream?token=${token(user)}`).catch(() => undefined),
    );
    streams.push(again);
    await socket.close();
  });

  it('ends with event: error naming token_expired (4001) when its token expires, then closes', async () => {
    const user = newUser();
    const stream = await TestStream.open(`${base}/api/notifications/stream?token=${token(user, 2)}`);
    streams.push(stream);
    await eventually(() => (stream.ended ? true : undefined), 6000, 'the stream to end');
    expect(stream.framesOf('error')).toEqual([
      { event: 'error', data: { code: 'token_expired', message: 'token expired', close_code: 4001 } },
    ]);
  });

  it("ends on POST /api/users/:id/disconnect (disconnected, 4003), as the user's sockets do", async () => {
    const user = newUser();
    const stream = await open(`${base}/api/notifications/stream`, user);
    const socket = await TestSocket.open(`${base.replace('http', 'ws')}/ws/notifications/?token=${token(user)}`);
    const answer = await fetch(`${base}/api/users/${user}/disconnect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ reason: 'password changed' }),
    });
    expect(answer.status).toBe(202);
    await eventually(() => (stream.ended ? true : undefined), 5000, 'the stream to end');
    expect(stream.framesOf('error')).toEqual([
      { event: 'error', data: { code: 'disconnected', message: 'password changed', close_code: 4003 } },
    ]);
    await eventually(() => socket.closeCode ?? undefined);
    expect(socket.closeCode).toBe(4003);
  });

  it('opens and at once ends a stream whose token is past its expiry but within the clock tolerance', async () => {
    const tolerant = await createGateway(testConfig({ JWT_CLOCK_TOLERANCE_SECONDS: '30' }));
    await tolerant.listen(0, '127.0.0.1');
    extraGateways.push(tolerant);
    const url = `http://127.0.0.1:${(tolerant.getHttpServer().address() as AddressInfo).port}`;
    const stream = await TestStream.open(
      `${url}/api/notifications/stream?token=${token(newUser(), -5)}`,
      {},
      {
        read: false,
      },
    );
    streams.push(stream);
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    let text = '';
    stream.response.setEncoding('utf8');
    stream.response.on('data', (chunk: string) => (text += chunk));
    stream.response.resume();
    await eventually(() => (stream.ended ? true : undefined), 5000, 'the stream to end');
    expect(text).toMatch(/^retry: \d+\n\nevent: error\ndata: \{"event":"error","data":\{"code":"token_expired"/);
  });

  it('delivers to a stream on a second gateway what the worker fans out', async () => {
    const second = await startGateway();
    extraGateways.push(second.app);
    const user = newUser();
    const onSecond = await open(`${second.url}/api/notifications/stream`, user);
    const onFirst = await open(`${base}/api/notifications/stream`, user);
    const id = await notify(user, 'to both gateways');
    await eventually(() => onSecond.eventsOf('notification')[0]);
    await eventually(() => onFirst.eventsOf('notification')[0]);
    expect(onSecond.eventsOf('notification').map((event) => Number(event.id))).toEqual([id]);
  });

  it('drops a stream that never reads once its unread bytes pass WS_MAX_BUFFERED_BYTES, and serves everyone else', async () => {
    const user = newUser();
    const before = await metric(base, 'notify_sse_streams_closed_total', 'cause="too_slow"');
    const stalled = await open(`${base}/api/notifications/stream`, user, {}, { read: false });
    const other = newUser();
    const bystander = await open(`${base}/api/notifications/stream`, other);
    const frame = JSON.stringify({ event: 'notification', message: 'x'.repeat(60_000) });
    for (let i = 0; i < 400; i++) {
      await fanout.publish(`Notifications_${user}`, frame);
      if ((await metric(base, 'notify_sse_streams_closed_total', 'cause="too_slow"')) > before) break;
    }
    expect(await metric(base, 'notify_sse_streams_closed_total', 'cause="too_slow"')).toBe(before + 1);
    // Cut off, not ended politely: a client that does not read would not read a last event either.
    stalled.response.resume();
    await eventually(() => (stalled.ended ? true : undefined), 5000, 'the stalled stream to be cut');
    const id = await notify(other, 'still served');
    await eventually(() => bystander.eventsOf('notification').find((event) => Number(event.id) === id));
  });

  it('carries broadcasts as event: broadcast (no id, so Last-Event-ID stays an inbox id), and resumes them with broadcast_since', async () => {
    const user = newUser();
    const stream = await open(`${base}/api/notifications/stream`, user);
    const { last_broadcast_id: lastBroadcastId } = stream.framesOf('connected')[0].data as {
      last_broadcast_id: number;
    };
    const broadcast = async (message: unknown) => {
      const taskId = randomUUID();
      await publisher.publish(config.AMQP_QUEUE, { broadcast: true, message }, { messageId: taskId });
      const row = await eventually(() => taskRow(taskId), 15_000, `broadcast task ${taskId}`);
      return JSON.parse(row.result as string).broadcast_id as number;
    };
    const first = await broadcast({ text: 'maintenance at noon' });
    const event = await eventually(() => stream.eventsOf('broadcast')[0]);
    expect(event.id).toBeUndefined();
    expect(JSON.parse(event.data)).toMatchObject({
      event: 'broadcast',
      id: first,
      message: { text: 'maintenance at noon' },
    });
    const second = await broadcast('and another');
    const later = await open(`${base}/api/notifications/stream?broadcast_since=${lastBroadcastId}`, user);
    await eventually(() => (later.eventsOf('broadcast').length === 2 ? true : undefined));
    expect(later.framesOf('broadcast').map((frame) => frame.id)).toEqual([first, second]);
    expect(
      (await TestStream.refusal(`${base}/api/notifications/stream?broadcast_since=x&token=${token(user)}`)).status,
    ).toBe(400);
  });
});
