import type { INestApplication } from '@nestjs/common';
import { notificationGroup } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { Inbox, NotificationClient } from '@app/client';
import type { NotificationClientEvents, NotificationClientOptions, NotificationFrame } from '@app/client';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { eventually, signToken, storeNotification, testConfig } from '@test/support/test-context';

/** The SDK's inbox API against the real gateway (REST and WebSocket), Postgres and Redis. */
describe('Inbox and gap filling (real gateway)', () => {
  let gateway: INestApplication;
  let fanout: RedisFanout;
  let port: number;
  const clients: NotificationClient[] = [];
  const newUser = () => `inbox-${randomUUID().slice(0, 8)}`;
  const client = (userId: string, options: Partial<NotificationClientOptions> = {}) => {
    const made = new NotificationClient({
      url: `ws://127.0.0.1:${port}/ws/notifications/`,
      token: () => signToken({ user_id: userId }),
      WebSocket: WebSocket as unknown as NotificationClientOptions['WebSocket'],
      reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      ...options,
    });
    clients.push(made);
    return made;
  };
  /** Stores a notification and publishes it live, as the worker does. */
  const notify = async (userId: string, message: unknown) => {
    const { id, frame } = await storeNotification(userId, message);
    await fanout.publish(notificationGroup(userId), frame);
    return id;
  };

  beforeAll(async () => {
    const config = testConfig({ RESUME_WINDOW: '2' });
    gateway = await createGateway(config);
    await gateway.listen(0, '127.0.0.1');
    port = (gateway.getHttpServer().address() as AddressInfo).port;
    fanout = new RedisFanout(config);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((each) => each.close()));
  });
  afterAll(async () => {
    await gateway?.close();
    await fanout?.onModuleDestroy();
  });

  it('fills a resume_gap over REST: every missed notification delivered once, in order, then gap', async () => {
    const user = newUser();
    const missed: number[] = [];
    for (let i = 0; i < 5; i++) missed.push((await storeNotification(user, i)).id);
    const sdk = client(user, { since: 0 });
    const frames: NotificationFrame[] = [];
    sdk.on('notification', (frame) => frames.push(frame));
    const gaps: Array<NotificationClientEvents['gap']> = [];
    sdk.on('gap', (gap) => gaps.push(gap));
    await sdk.connect();
    await eventually(() => gaps[0], 10_000, 'the gap event');
    expect(gaps[0]).toMatchObject({ since: 0, window: 2, filled: 5, complete: true });
    expect(frames.map((frame) => [frame.id, frame.message])).toEqual(missed.map((id, i) => [id, i]));
    const live = await notify(user, 'live');
    await eventually(() => frames[5]);
    expect(frames.map((frame) => frame.id)).toEqual([...missed, live]);
  });

  it('keeps the unread count live across two tabs, from notifications and read receipts', async () => {
    const user = newUser();
    await storeNotification(user, 'already there');
    const [tabA, tabB] = [client(user), client(user)];
    const [inboxA, inboxB] = [new Inbox(tabA), new Inbox(tabB)];
    await Promise.all([tabA.connect(), tabB.connect()]);
    await eventually(() => (inboxA.unreadCount === 1 && inboxB.unreadCount === 1 ? true : undefined));

    const second = await notify(user, 'second');
    await notify(user, 'third');
    await eventually(() => (inboxB.unreadCount === 3 ? true : undefined), 5000, 'tab B counting 3');
    await expect(inboxA.markRead(second)).resolves.toMatchObject({ ids: [second], unread_count: 2 });
    await eventually(() => (inboxB.unreadCount === 2 ? true : undefined), 5000, 'tab B following tab A');

    const page = await inboxB.list({ unread: true, limit: 10 });
    expect(page.results.map((row) => row.message)).toEqual(['third', 'already there']);
    await inboxB.markAllRead();
    await eventually(() => (inboxA.unreadCount === 0 ? true : undefined), 5000, 'tab A at 0');
    expect(await inboxA.refreshUnreadCount()).toBe(0);
  });

  it('refuses a bad list query before asking the server, naming the parameter', () => {
    const inbox = new Inbox(client(newUser()));
    expect(() => inbox.list({ after: NaN })).toThrow(
      'after must be a whole number from 0 to 9007199254740991; got NaN',
    );
    expect(() => inbox.list({ limit: 500 })).toThrow('limit must be a whole number from 1 to 200; got 500');
  });
});
