import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import { WebSocket } from 'ws';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TestPublisher, eventually, signToken, testConfig } from '@test/support/test-context';
import { NotificationClient } from '@app/client';
import type { DisconnectedEvent, NotificationClientOptions, NotificationFrame, ReadReceipt } from '@app/client';

/**
 * The SDK over Server-Sent Events (`transport: 'sse'`, and `auto` falling back to it) against the
 * real gateway and worker, with the `eventsource` package as Node's EventSource: the same events,
 * resume and de-duplication as over the WebSocket; reads over REST.
 */
describe('NotificationClient over Server-Sent Events (real gateway, worker and services)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
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
      transport: 'sse',
      WebSocket: WebSocket as unknown as NotificationClientOptions['WebSocket'],
      EventSource: EventSource as unknown as NotificationClientOptions['EventSource'],
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
  const newUser = () => `sdk-sse-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    config = testConfig({ JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    gateway = await startGateway();
    port = (gateway.getHttpServer().address() as AddressInfo).port;
    worker = await createWorker(config);
    await worker.listen();
    publisher = await TestPublisher.connect();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((each) => each.close()));
  });

  afterAll(async () => {
    await gateway?.close();
    await worker?.close();
    await publisher?.deleteQueue(config.AMQP_QUEUE);
    await publisher?.deleteQueue(`${config.AMQP_QUEUE}.dead-letter`);
    await publisher?.close();
  });

  it('connects over SSE, receives a notification from the worker, and marks it read over REST (one read event)', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    const reads: ReadReceipt[] = [];
    sdk.on('read', (receipt) => reads.push(receipt));
    const connected = await sdk.connect();
    expect(connected).toMatchObject({ user_id: user, transport: 'sse', reconnected: false });
    expect(sdk.transport).toBe('sse');
    const id = await notify(user, { text: 'over the stream' });
    await eventually(() => frames[0]);
    expect(frames[0]).toMatchObject({ event: 'notification', id, message: { text: 'over the stream' } });
    const receipt = await sdk.markRead(id);
    expect(receipt).toMatchObject({ ids: [id], all: false });
    await eventually(() => reads[0]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads).toEqual([expect.objectContaining({ ids: [id] })]);
    await expect(sdk.ping()).rejects.toThrow(/WebSocket transport/);
  });

  it('resumes after the gateway drops the stream: what was missed comes once, in order', async () => {
    const user = newUser();
    const sdk = client(user);
    const frames = received(sdk);
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await sdk.connect();
    const before = await notify(user, 'before');
    await eventually(() => frames[0]);
    await gateway.close();
    await eventually(() => disconnects[0]);
    expect(disconnects[0]).toMatchObject({ code: 1001, willReconnect: true });
    const missed = [await notify(user, 'missed 1'), await notify(user, 'missed 2')];
    gateway = await startGateway(port);
    await eventually(() => (frames.length === 3 ? true : undefined), 15_000, 'the missed notifications');
    const after = await notify(user, 'after');
    await eventually(() => (frames.length === 4 ? true : undefined));
    expect(frames.map((frame) => frame.id)).toEqual([before, ...missed, after]);
    expect(sdk.transport).toBe('sse');
  });

  it('reconnects with a fresh token when the stream ends at token expiry (4001), losing nothing', async () => {
    const user = newUser();
    const sdk = client(user, { token: () => signToken({ user_id: user }, undefined, { expiresIn: 2 }) });
    const frames = received(sdk);
    const disconnects: DisconnectedEvent[] = [];
    sdk.on('disconnected', (event) => disconnects.push(event));
    await sdk.connect();
    await eventually(() => disconnects.find((event) => event.code === 4001), 6000, 'the 4001 end');
    const id = await notify(user, 'after expiry');
    await eventually(() => frames.find((frame) => frame.id === id));
    expect(sdk.state).toBe('connected');
  });

  it('stops (state closed) when the user is disconnected by POST /api/users/:id/disconnect', async () => {
    const user = newUser();
    const sdk = client(user);
    await sdk.connect();
    const answer = await fetch(`http://127.0.0.1:${port}/api/users/${user}/disconnect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}`,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    expect(answer.status).toBe(202);
    await eventually(() => (sdk.state === 'closed' ? true : undefined));
  });

  it('auto: falls back to SSE when the WebSocket cannot be opened, and delivers', async () => {
    const user = newUser();
    // A path the gateway does not upgrade: as a proxy that breaks WebSockets, the socket fails.
    const sdk = client(user, { transport: 'auto', url: `ws://127.0.0.1:${port}/blocked-by-a-proxy/` });
    const frames = received(sdk);
    expect(sdk.transport).toBe('websocket');
    const connected = await sdk.connect();
    expect(connected.transport).toBe('sse');
    const id = await notify(user, 'after the fallback');
    await eventually(() => frames.find((frame) => frame.id === id));
  });

  it('auto: stays on the WebSocket when it opens', async () => {
    const sdk = client(newUser(), { transport: 'auto' });
    expect((await sdk.connect()).transport).toBe('websocket');
  });
});
