import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { TestSocket, signToken, storeNotification, testConfig, withDatabase } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

/** The inbox REST API against a real gateway and Postgres: what a client may send as an id. */
describe('inbox REST ids (real Postgres)', () => {
  let gateway: INestApplication;
  let base: string;
  const user = `inbox-${randomUUID().slice(0, 8)}`;
  const call = async (path: string, method = 'GET') => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${signToken({ user_id: user })}` },
    });
    return { status: response.status, body: (await response.json()) as { message?: string[]; results?: unknown[] } };
  };

  beforeAll(async () => {
    gateway = await createGateway(testConfig());
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => gateway?.close());

  it.each([
    ['/api/notifications?after=1e21', 'GET', 'after'],
    ['/api/notifications?before=1e21', 'GET', 'before'],
    ['/api/notifications?after=99999999999999999999', 'GET', 'after'],
    ['/api/notifications?before=9007199254740992', 'GET', 'before'],
    ['/api/notifications?after=0x10', 'GET', 'after'],
    ['/api/notifications?after=-1', 'GET', 'after'],
    ['/api/notifications/1e21/read', 'POST', 'id'],
    ['/api/notifications/99999999999999999999/read', 'POST', 'id'],
    ['/api/notifications/1.5/read', 'POST', 'id'],
  ])('answers %s %s with 400 naming %s, not a database error', async (path, method, name) => {
    const { status, body } = await call(path, method);
    expect(status).toBe(400);
    expect(body.message).toEqual([expect.stringMatching(new RegExp(`^${name} `))]);
  });

  it('takes the largest safe id and the smallest ones', async () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(await call(`/api/notifications?after=${max}`)).toEqual({
      status: 200,
      body: { results: [], has_more: false },
    });
    expect((await call(`/api/notifications?before=${max}`)).status).toBe(200);
    expect((await call('/api/notifications?after=0')).status).toBe(200);
    expect((await call(`/api/notifications/${max}/read`, 'POST')).status).toBe(404);
  });

  it('pages with an id the database holds', async () => {
    const { id, seq } = await storeNotification(user, 'hi');
    expect((await call(`/api/notifications?after=${id - 1}`)).body.results).toEqual([
      expect.objectContaining({ id, seq, message: 'hi' }),
    ]);
    expect(await call(`/api/notifications/${id}/read`, 'POST')).toEqual({
      status: 200,
      body: { ids: [id], all: false, unread_count: 0 },
    });
  });
});

/** One user's read receipts never touch another user's inbox, over REST or over a socket. */
describe('read receipts stay within the user (real Postgres)', () => {
  let gateway: INestApplication;
  let base: string;
  const alice = `alice-${randomUUID().slice(0, 8)}`;
  const bob = `bob-${randomUUID().slice(0, 8)}`;
  const call = async (user: string, path: string, method = 'GET') => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${signToken({ user_id: user })}` },
    });
    return (await response.json()) as { unread_count: number; ids?: number[] };
  };

  beforeAll(async () => {
    gateway = await createGateway(testConfig());
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => gateway?.close());

  it("read_all as one user leaves another user's unread_count untouched", async () => {
    await storeNotification(alice, 'a1');
    await storeNotification(bob, 'b1');
    await storeNotification(bob, 'b2');
    expect((await call(bob, '/api/notifications/unread_count')).unread_count).toBe(2);
    expect(await call(alice, '/api/notifications/read_all', 'POST')).toMatchObject({ unread_count: 0 });
    expect((await call(alice, '/api/notifications/unread_count')).unread_count).toBe(0);
    expect((await call(bob, '/api/notifications/unread_count')).unread_count).toBe(2);
  });

  it("answers a socket read of another user's ids with ids: [] and changes nothing", async () => {
    const { id } = await storeNotification(bob, 'b3');
    const before = (await call(bob, '/api/notifications/unread_count')).unread_count;
    const port = (gateway.getHttpServer().address() as AddressInfo).port;
    const socket = await TestSocket.open(
      `ws://127.0.0.1:${port}/ws/notifications/?token=${signToken({ user_id: alice })}`,
    );
    try {
      socket.send({ event: 'read', data: { ids: [id] } });
      expect(await socket.nextFrame()).toMatchObject({ event: 'read_confirmed', data: { ids: [] } });
      socket.send({ event: 'read', data: { id } });
      expect(await socket.nextFrame()).toMatchObject({ event: 'read_confirmed', data: { ids: [] } });
    } finally {
      await socket.close();
    }
    expect((await call(bob, '/api/notifications/unread_count')).unread_count).toBe(before);
    const unread = await withDatabase(
      async (db) => (await db.query('SELECT read_at FROM notification_inbox WHERE id = $1', [id])).rows[0],
    );
    expect(unread).toEqual({ read_at: null });
  });
});
