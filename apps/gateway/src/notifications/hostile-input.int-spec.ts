import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { TestSocket, eventually, signToken, testConfig, upgradeStatus } from '@test/support/test-context';
import { createGateway } from '../gateway.factory';

/** Each limit of the gateway, against a real gateway with that limit set low. */
async function startGateway(overrides: Record<string, string>) {
  const gateway = await createGateway(testConfig(overrides));
  await gateway.listen(0, '127.0.0.1');
  const { port } = gateway.getHttpServer().address() as AddressInfo;
  return { gateway, port, ws: `ws://127.0.0.1:${port}/ws/notifications/`, http: `http://127.0.0.1:${port}` };
}

const token = (userId: string, options = {}) =>
  signToken({ user_id: userId }, undefined, { expiresIn: 300, ...options });

/** Opens a socket with extra handshake headers: the open socket, or the status it was refused with. */
function connectWith(url: string, headers: Record<string, string>): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_, response) => resolve(response.statusCode ?? 0));
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function upgradeWithOrigin(url: string, origin?: string): Promise<number | 'open'> {
  const result = await connectWith(url, origin ? { origin } : {});
  if (typeof result === 'number') return result;
  result.close();
  return 'open';
}

describe('gateway limits (real sockets)', () => {
  let gateway: INestApplication;
  let ws: string;
  let http: string;

  beforeAll(async () => {
    ({ gateway, ws, http } = await startGateway({
      WS_ALLOWED_ORIGINS: 'https://app.example.com',
      WS_MAX_SOCKETS_PER_USER: '2',
      WS_MAX_FRAMES_PER_SECOND: '5',
    }));
  });
  afterAll(() => gateway.close());

  it('refuses a browser from an origin not on the allowlist with 403, and lets others in', async () => {
    const url = `${ws}?token=${token('o1')}`;
    expect(await upgradeWithOrigin(url, 'https://evil.example.net')).toBe(403);
    expect(await upgradeWithOrigin(url, 'https://app.example.com')).toBe('open');
    expect(await upgradeWithOrigin(url)).toBe('open');
  });

  it('caps sockets per user with 429, and frees the slot when one closes', async () => {
    const url = `${ws}?token=${token('capped')}`;
    const first = await TestSocket.open(url);
    const second = await TestSocket.open(url);
    expect(await upgradeStatus(url)).toBe(429);
    expect(await upgradeStatus(`${ws}?token=${token('someone-else')}`)).toBe('open');
    await first.close();
    await eventually(async () => ((await upgradeStatus(url)) === 'open' ? true : undefined), 5000);
    await second.close();
  });

  it('answers a flood with rate_limited errors, then closes it with 1008; other sockets are served', async () => {
    const flooder = await TestSocket.open(`${ws}?token=${token('flooder')}`);
    const neighbour = await TestSocket.open(`${ws}?token=${token('neighbour')}`);
    for (let i = 0; i < 40; i++) flooder.send({ event: 'ping', data: i });
    await eventually(() => flooder.closeCode ?? undefined);
    expect(flooder.closeCode).toBe(1008);
    expect(flooder.framesOf('error').some((frame) => (frame.data as { code: string }).code === 'rate_limited')).toBe(
      true,
    );
    expect(flooder.framesOf('pong').length).toBeLessThanOrEqual(6);
    neighbour.send({ event: 'ping', data: 'still here' });
    expect(await neighbour.nextFrame()).toEqual({ event: 'pong', data: 'still here' });
    await neighbour.close();
  });

  it('closes a socket that sends binary frames with 1003', async () => {
    const socket = await TestSocket.open(`${ws}?token=${token('binary')}`);
    socket.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    await eventually(() => socket.closeCode ?? undefined);
    expect(socket.closeCode).toBe(1003);
    expect(socket.framesOf('error')[0]).toMatchObject({ data: { code: 'binary_not_supported' } });
  });

  it('closes a socket with 4001 when its token expires', async () => {
    const socket = await TestSocket.open(`${ws}?token=${token('expiring', { expiresIn: 2 })}`);
    await eventually(() => socket.closeCode ?? undefined, 6000);
    expect(socket.closeCode).toBe(4001);
  });

  it('refuses oversized handshakes without verifying anything', async () => {
    expect(await upgradeStatus(`${ws}?token=${'a'.repeat(9000)}`)).toBe(401);
    const status = await new Promise<number>((resolve) => {
      const request = httpRequest(`${http}/ws/notifications/`, {
        headers: { 'x-filler': 'x'.repeat(20_000), connection: 'Upgrade', upgrade: 'websocket' },
      });
      request.on('response', (response) => resolve(response.statusCode ?? 0));
      request.on('error', () => resolve(-1));
      request.end();
    });
    expect(status).toBe(431);
  });

  it('sends security headers, no CORS unless configured, and errors without internals', async () => {
    const response = await fetch(`${http}/api/tasks`, { headers: { origin: 'https://elsewhere.example' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const admin = { authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}` };
    const long = await fetch(`${http}/api/tasks/${'x'.repeat(300)}`, { headers: admin });
    expect(long.status).toBe(404);
    const body = await long.text();
    expect(body).not.toMatch(/at .*\.(js|ts):\d+|SELECT|QueryFailedError/);
  });
});

describe('POST /api/publish with hostile user_ids (real gateway; nothing reaches the queue)', () => {
  const serviceToken = 'hostile-publish-token-0123456789abcdef';
  let gateway: INestApplication;
  let http: string;

  beforeAll(async () => {
    ({ gateway, http } = await startGateway({ PUBLISH_API_TOKENS: serviceToken, MAX_RECIPIENTS: '100' }));
  });
  afterAll(() => gateway.close());

  const publish = (body: string) =>
    fetch(`${http}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` },
      body,
    });
  const deep = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

  it.each([
    [
      'a list one past MAX_RECIPIENTS',
      JSON.stringify(Array.from({ length: 101 }, (_, i) => i)),
      'user_ids lists 101 users; at most 100',
    ],
    ['a list of 5,000 duplicates', JSON.stringify(Array.from({ length: 5000 }, () => 1)), 'user_ids lists 5000 users'],
    ['a duplicate', '[1, 2, "1"]', 'user_ids[2] repeats user 1 (user_ids[0])'],
    ['a string', '"1,2,3"', 'user_ids must be a list'],
    ['an object that looks like a list', '{"0": 1, "length": 1}', 'user_ids must be a list'],
    ['null', 'null', 'user_ids must be a list'],
    ['nested lists', `[${deep(50)}]`, 'user_ids[0] must be'],
    ['objects', '[{"user_id": 1}]', 'user_ids[0] must be'],
    ['a prototype key', '[{"__proto__": {"admin": true}}]', 'user_ids[0] must be'],
    ['an id that would name another group', '["1 Notifications_2"]', 'user_ids[0] must be'],
    ['a float', '[1.5]', 'user_ids[0] must be'],
    ['an id past 2^53', '[9007199254740993]', 'user_ids[0] must be'],
  ])('answers user_ids that is %s with 400 and the reason', async (_, list, reason) => {
    const response = await publish(`{"user_ids": ${list}, "message": "x"}`);
    expect(response.status).toBe(400);
    const { message } = (await response.json()) as { message: string[] };
    expect(message.join(' ')).toContain(reason);
  });

  it('answers a body too large to read (a list of 100,000 ids) with 413, and goes on serving', async () => {
    const huge = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => `user-${i}`));
    expect((await publish(`{"user_ids": ${huge}, "message": "x"}`)).status).toBe(413);
    const after = await publish('{"user_ids": [], "message": "x"}');
    expect(after.status).toBe(400);
  });
});

describe('gateway attempts per address', () => {
  it('answers 429 past WS_MAX_CONNECTIONS_PER_IP_PER_SECOND, before looking at the token', async () => {
    const { gateway, ws } = await startGateway({ WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '3' });
    try {
      const statuses = await Promise.all(Array.from({ length: 8 }, () => upgradeStatus(`${ws}?token=garbage`)));
      expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(4);
      expect(statuses.filter((status) => status === 401).length).toBeGreaterThanOrEqual(1);
    } finally {
      await gateway.close();
    }
  });

  it('allows CORS for configured origins only', async () => {
    const { gateway, http } = await startGateway({ CORS_ORIGINS: 'https://admin.example.com' });
    try {
      const allowed = await fetch(`${http}/api/tasks`, { headers: { origin: 'https://admin.example.com' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
      const other = await fetch(`${http}/api/tasks`, { headers: { origin: 'https://evil.example.com' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await gateway.close();
    }
  });
});

describe('client address behind a proxy (TRUST_PROXY)', () => {
  const outcome = (result: WebSocket | number) => (typeof result === 'number' ? result : 'open');

  async function openFrom(label: string, forwardedFor: string[], overrides: Record<string, string>) {
    const { gateway, ws } = await startGateway({ WS_MAX_SOCKETS_PER_IP: '1', ...overrides });
    const results: Array<WebSocket | number> = [];
    try {
      // One at a time, as the per-address count is what is checked.
      for (const [index, address] of forwardedFor.entries())
        results.push(await connectWith(`${ws}?token=${token(`${label}-${index}`)}`, { 'x-forwarded-for': address }));
      return results.map(outcome);
    } finally {
      for (const result of results) if (typeof result !== 'number') result.terminate();
      await gateway.close();
    }
  }

  it('counts each client behind a trusted proxy on its own', async () => {
    expect(
      await openFrom('trusted', ['203.0.113.1', '203.0.113.2', '203.0.113.1'], { TRUST_PROXY: 'loopback' }),
    ).toEqual(['open', 'open', 429]);
  });

  it('counts IPv6 clients by their /64, and an IPv4-mapped address as its IPv4 address', async () => {
    expect(
      await openFrom('ipv6', ['2001:db8:1:2::1', '2001:db8:1:2:ffff::2', '2001:db8:1:3::1'], {
        TRUST_PROXY: 'loopback',
      }),
    ).toEqual(['open', 429, 'open']);
    expect(await openFrom('mapped', ['203.0.113.9', '::ffff:203.0.113.9'], { TRUST_PROXY: 'loopback' })).toEqual([
      'open',
      429,
    ]);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy: a client cannot pick its own budget', async () => {
    expect(await openFrom('untrusted', ['203.0.113.1', '203.0.113.2'], {})).toEqual(['open', 429]);
    expect(await openFrom('other-proxy', ['203.0.113.1', '203.0.113.2'], { TRUST_PROXY: '10.0.0.0/8' })).toEqual([
      'open',
      429,
    ]);
  });
});
