import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { notificationFrameOf, notificationGroup } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TestPublisher, eventually, signToken, testConfig } from '@test/support/test-context';
import { NotificationClient } from '@app/client';
import type { DisconnectedEvent, NotificationClientOptions, NotificationFrame } from '@app/client';

/** The SDK against the real gateway and worker, in process: AMQP in, WebSocket out. */
describe('NotificationClient (real gateway, worker, Postgres, Redis, RabbitMQ)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let fanout: RedisFanout;
  let port: number;
  const clients: NotificationClient[] = [];

  const startGateway = async (listenPort = 0) => {
    const app = await createGateway(config);
    await app.listen(listenPort, '127.0.0.1');
    return app;
  };
  const client = (userId: string, options: Partial<NotificationClientOptions> = {}) => {
    const created = new NotificationClient({
      url: `ws://127.0.0.1:${port}/ws/notifications/`,
      token: () => signToken({ user_id: userId }),
      WebSocket: WebSocket as unknown as NotificationClientOptions['WebSocket'],
      reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      ...options,
    });
    clients.push(created);
    return created;
  };
  const received = (target: NotificationClient) => {
    const frames: NotificationFrame[] = [];
    target.on('notification', (frame) => frames.push(frame));
    return frames;
  };
  const notify = (userId: string, message: unknown) => publisher.notify(config.AMQP_QUEUE, userId, message);
  const newUser = () => `sdk-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    config = testConfig();
    gateway = await startGateway();
    port = (gateway.getHttpServer().address() as AddressInfo).port;
    worker = await createWorker(config);
    await worker.listen();
    publisher = await TestPublisher.connect();
    fanout = new RedisFanout(config);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((each) => each.close()));
  });

  afterAll(async () => {
    await gateway?.close();
    await worker?.close();
    await fanout?.onModuleDestroy();
    await publisher?.deleteQueue(config.AMQP_QUEUE);
    await publisher?.deleteQueue(`${config.AMQP_QUEUE}.dead-letter`);
    await publisher?.close();
  });

  it('connects, receives a notification published over AMQP, and marks it read', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    const reads: unknown[] = [];
    sdk.on('read', (receipt) => reads.push(receipt));
    const connected = await sdk.connect();
    expect(connected).toMatchObject({ user_id: user, group: notificationGroup(user), reconnected: false });
    expect(sdk.state).toBe('connected');

    const id = await notify(user, { text: 'hello' });
    await eventually(() => frames[0]);
    expect(frames).toEqual([
      {
        event: 'notification',
        type: 'notification',
        id,
        seq: 1,
        task_id: expect.any(String),
        created_at: expect.any(String),
        message: { text: 'hello' },
      },
    ]);
    expect(sdk.lastId).toBe(id);

    await expect(sdk.markRead(id)).resolves.toEqual({ ids: [id], all: false, unread_count: 0 });
    await eventually(() => reads[0]);
    expect(reads).toEqual([{ ids: [id], all: false, unread_count: 0 }]);
    await notify(user, 'second');
    await eventually(() => frames[1]);
    await expect(sdk.markAllRead()).resolves.toMatchObject({ all: true, unread_count: 0 });
    expect(await sdk.ping()).toBeGreaterThanOrEqual(0);
  });

  it('starts from the since option: what is still in the inbox after it comes first', async () => {
    const user = newUser();
    const [first, second] = [await notify(user, 1), await notify(user, 2)];
    const sdk = client(user, { since: first });
    const frames = received(sdk);
    const resumed: unknown[] = [];
    sdk.on('resumed', (event) => resumed.push(event));
    await sdk.connect();
    await eventually(() => resumed[0]);
    expect(frames.map((frame) => frame.id)).toEqual([second]);
    expect(resumed).toEqual([{ since: first, count: 1, last_id: second }]);
  });

  it('reconnects after the gateway goes away and gets what was published meanwhile, each once', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await sdk.connect();
    const before = await notify(user, 'before');
    await eventually(() => frames[0]);

    await gateway.close(); // closes every socket with 1001
    await eventually(() => disconnects[0]);
    expect(disconnects[0]).toMatchObject({ code: 1001, willReconnect: true, delayMs: expect.any(Number) });
    const missed = [await notify(user, 'while away 1'), await notify(user, 'while away 2')];

    const reconnected = new Promise((resolve) => sdk.on('connected', resolve));
    gateway = await startGateway(port);
    expect(await reconnected).toMatchObject({ reconnected: true });
    await eventually(() => (frames.length >= 3 ? true : undefined));
    const live = await notify(user, 'after');
    await eventually(() => (frames.length >= 4 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(frames.map((frame) => frame.id)).toEqual([before, ...missed, live]);
    expect(frames.map((frame) => frame.message)).toEqual(['before', 'while away 1', 'while away 2', 'after']);
  });

  it('resumes from where its first socket started when it had received nothing before the drop', async () => {
    const user = newUser();
    await notify(user, 'older'); // in the inbox before the client came: not for it
    const sdk = client(user);
    const frames = received(sdk);
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await sdk.connect();
    await gateway.close();
    await eventually(() => disconnects[0]);
    const missed = await notify(user, 'while away');
    gateway = await startGateway(port);
    await eventually(() => frames[0], 10_000, 'the notification published while away');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(frames.map((frame) => [frame.id, frame.message])).toEqual([[missed, 'while away']]);
  });

  it('delivers a notification published again (a redelivered task) once', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    await sdk.connect();
    const id = await notify(user, 'once');
    await eventually(() => frames[0]);
    const { task_id: taskId, created_at: createdAt, seq } = frames[0];
    await fanout.publish(
      notificationGroup(user),
      notificationFrameOf({ id, seq, taskId, createdAt, messageJson: '"once"' }),
    );
    const next = { id: id + 1_000_000, seq: seq + 1, taskId: 'direct', createdAt: new Date(), messageJson: '"next"' };
    await fanout.publish(notificationGroup(user), notificationFrameOf(next));
    await eventually(() => frames[1]);
    expect(frames.map((frame) => frame.message)).toEqual(['once', 'next']);
  });

  it('resolves markRead and markAllRead sent together each with its own receipt (refs, defect 1)', async () => {
    const user = newUser();
    const ids = [await notify(user, 1), await notify(user, 2)];
    const sdk = client(user, { since: 0 });
    await sdk.connect();
    const [one, all, two] = await Promise.all([sdk.markRead(ids[0]), sdk.markAllRead(), sdk.markRead(ids[1])]);
    // Whichever the gateway finished first: each read's receipt names only its own id, if any.
    expect(one).toEqual({ ids: expect.any(Array), all: false, unread_count: expect.any(Number) });
    expect(one.ids.every((id) => id === ids[0])).toBe(true);
    expect(all).toMatchObject({ all: true, unread_count: 0 });
    expect(two).toEqual({ ids: expect.any(Array), all: false, unread_count: expect.any(Number) });
    expect(two.ids.every((id) => id === ids[1])).toBe(true);
  });

  it('fails at once, in state failed, when the WebSocket refuses the token as a subprotocol (defect 4)', async () => {
    const sdk = client(newUser(), { token: 'not a token' });
    const errors: string[] = [];
    sdk.on('error', (error) => errors.push(error.code));
    await expect(sdk.connect()).rejects.toThrow(/socket refused/);
    expect([sdk.state, errors]).toEqual(['failed', ['socket_refused']]);
  });

  it('stops in state unauthorized after maxHandshakeFailures refused handshakes (401) with a static token (defect 6)', async () => {
    const user = newUser();
    const sdk = client(user, {
      token: signToken({ user_id: user }, 'not-the-secret'),
      maxHandshakeFailures: 3,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await expect(sdk.connect()).rejects.toThrow(/handshake failed 3 times/);
    expect(sdk.state).toBe('unauthorized');
  });

  it('connects again after close(), and a throwing listener does not stop delivery (defect 8)', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    const errors: string[] = [];
    sdk.on('error', (error) => errors.push(error.code));
    sdk.on('notification', () => {
      throw new Error('listener bug');
    });
    await sdk.connect();
    await sdk.close();
    expect(sdk.state).toBe('closed');
    await expect(sdk.connect()).resolves.toMatchObject({ reconnected: true });
    await notify(user, 'after reuse');
    await eventually(() => frames[0]);
    expect(frames.map((frame) => frame.message)).toEqual(['after reuse']);
    expect(errors).toEqual(['listener_error']);
  });

  it('marks read over REST while it cannot reach the socket (defect 8)', async () => {
    const user = newUser();
    const id = await notify(user, 'unread');
    const sdk = client(user, {
      url: 'ws://127.0.0.1:9/ws/notifications/', // nothing listens: it keeps reconnecting
      apiUrl: `http://127.0.0.1:${port}`,
    });
    void sdk.connect();
    await expect(sdk.markRead(id)).resolves.toEqual({ ids: [id], all: false, unread_count: 0 });
    expect(['connecting', 'reconnecting']).toContain(sdk.state);
  });

  it('stops for good when the server disconnects the user (4003), even with a token function', async () => {
    const user = newUser();
    const sdk = client(user);
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await sdk.connect();
    const answer = await fetch(`http://127.0.0.1:${port}/api/users/${user}/disconnect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ reason: 'account closed' }),
    });
    expect(answer.status).toBe(202);
    await eventually(() => disconnects[0], 3000, 'the 4003 close');
    expect(disconnects).toEqual([{ code: 4003, reason: 'account closed', willReconnect: false }]);
    await new Promise((resolve) => setTimeout(resolve, 600)); // longer than the reconnect backoff
    expect(disconnects).toHaveLength(1);
    expect(sdk.state).not.toMatch(/connecting|connected/);
  });

  describe('when the token expires (close 4001)', () => {
    const shortConfig = () => testConfig({ AMQP_QUEUE: config.AMQP_QUEUE, JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    let shortGateway: INestApplication;
    let shortUrl: string;
    const shortToken = (userId: string) => signToken({ user_id: userId }, undefined, { expiresIn: 3 });

    beforeAll(async () => {
      shortGateway = await createGateway(shortConfig());
      await shortGateway.listen(0, '127.0.0.1');
      shortUrl = `ws://127.0.0.1:${(shortGateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
    });
    afterAll(() => shortGateway?.close());

    it('reconnects with a fresh token from the token function, resuming where it was, when refreshing fails', async () => {
      const user = newUser();
      let tokensAsked = 0;
      // The second token (the refresh's) is another user's: refused, so the socket reaches 4001.
      const token = () => (++tokensAsked === 2 ? shortToken(newUser()) : shortToken(user));
      const sdk = client(user, { url: shortUrl, token });
      const frames = received(sdk);
      const disconnects: DisconnectedEvent[] = [];
      sdk.on('disconnected', (event) => disconnects.push(event));
      await sdk.connect();
      const first = await notify(user, 'first');
      await eventually(() => frames[0]);
      await eventually(() => disconnects[0], 8_000, 'the 4001 close');
      expect(disconnects[0]).toMatchObject({ code: 4001, willReconnect: true });
      const second = await notify(user, 'second');
      await eventually(() => frames[1], 8_000, 'the notification after reconnecting');
      expect(frames.map((frame) => frame.id)).toEqual([first, second]);
      expect(tokensAsked).toBeGreaterThanOrEqual(3);
    });

    it('refreshes a 20-second token in place: one socket for three lifetimes while notifications arrive', async () => {
      const user = newUser();
      const sdk = client(user, {
        url: shortUrl,
        token: () => signToken({ user_id: user }, undefined, { expiresIn: 20 }),
      });
      const frames = received(sdk);
      const events: string[] = [];
      sdk.on('refreshed', () => events.push('refreshed'));
      sdk.on('disconnected', (event) => events.push(`disconnected ${event.code}`));
      await sdk.connect();
      sdk.on('connected', () => events.push('connected again'));
      const sent: number[] = [];
      const started = Date.now();
      while (Date.now() - started < 62_000) {
        sent.push(await notify(user, `at ${Date.now() - started} ms`));
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
      await eventually(() => (frames.length === sent.length ? true : undefined), 5_000, 'every notification');
      expect(frames.map((frame) => frame.id)).toEqual(sent);
      expect(events.filter((event) => event === 'refreshed').length).toBeGreaterThanOrEqual(3);
      expect(events.filter((event) => event !== 'refreshed')).toEqual([]);
      // Still the socket it opened with: no close, no second `connected`.
      expect(sdk.state).toBe('connected');
    }, 90_000);

    it('does not reconnect with a static token, which would be refused', async () => {
      const user = newUser();
      const sdk = client(user, { url: shortUrl, token: shortToken(user) });
      const disconnects: DisconnectedEvent[] = [];
      sdk.on('disconnected', (event) => disconnects.push(event));
      await sdk.connect();
      await eventually(() => disconnects[0], 8_000, 'the 4001 close');
      expect(disconnects).toEqual([{ code: 4001, reason: expect.any(String), willReconnect: false }]);
      expect(sdk.state).toBe('unauthorized');
    });
  });

  it('gives up on a refused handshake after maxAttempts, and close() stops everything', async () => {
    const sdk = client('x', { token: 'not-a-jwt', reconnect: { initialDelayMs: 10, maxAttempts: 2 } });
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await expect(sdk.connect()).rejects.toThrow(/Could not connect/);
    expect(disconnects.map((event) => event.willReconnect)).toEqual([true, true, false]);
    await sdk.close();
    expect(sdk.state).toBe('closed');
    await expect(sdk.markRead(1)).rejects.toThrow('Not connected');
  });
});
