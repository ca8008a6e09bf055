import { randomUUID } from 'node:crypto';
import { AppProcess } from '@test/support/app-process';
import { AppStack } from '@test/support/app-stack';
import { TestSocket, eventually, signToken, uniqueName, upgradeStatus } from '@test/support/test-context';

const SERVICE_TOKEN = `service-${randomUUID()}-${randomUUID()}`;

/**
 * Disconnect, log out everywhere and presence across two gateway processes sharing Redis and
 * Postgres, as a service would call them over REST.
 */
describe('sessions and presence across gateways', () => {
  const env = {
    AMQP_QUEUE: uniqueName('send_notification'),
    PORT: '0',
    // Presence and cut-offs of this cluster only, and quick to notice a dead gateway.
    REDIS_CHANNEL_PREFIX: `${uniqueName('sessions')}:`,
    PRESENCE_TTL_SECONDS: '3',
    TOKEN_CUTOFF_SYNC_SECONDS: '1',
    PUBLISH_API_TOKENS: SERVICE_TOKEN,
  };
  let stack: AppStack;
  let extra: AppProcess[] = [];
  const run = randomUUID().slice(0, 6);
  const user = (name: string) => `${name}-${run}`;
  const wsUrl = (gateway: AppProcess, token: string) =>
    `${gateway.httpUrl().replace('http', 'ws')}/ws/notifications/?token=${token}`;
  const call = async (gateway: AppProcess, method: string, path: string, body?: unknown, token = SERVICE_TOKEN) => {
    const response = await fetch(`${gateway.httpUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const closed = (sockets: TestSocket[]) =>
    eventually(() => (sockets.every((socket) => socket.closeCode !== null) ? true : undefined), 1000, 'closes');

  beforeAll(async () => {
    stack = await AppStack.start(env, 2, 1);
  });

  afterAll(async () => {
    await Promise.all(extra.map((gateway) => gateway.stop()));
    await stack?.stop();
  });

  it('disconnect closes every socket of the user on every gateway within a second, with 4003 and the reason', async () => {
    const [a, b] = stack.gateways;
    const target = user('banned');
    const token = signToken({ user_id: target });
    const sockets = await Promise.all([a, a, b, b].map((gateway) => TestSocket.open(wsUrl(gateway, token))));
    const bystander = await TestSocket.open(wsUrl(b, signToken({ user_id: user('bystander') })));

    const answer = await call(a, 'POST', `/api/users/${target}/disconnect`, { reason: 'account suspended' });
    expect(answer).toEqual({ status: 202, body: { user_id: target, gateways: 2 } });
    await closed(sockets);
    for (const socket of sockets) expect([socket.closeCode, socket.closeReason]).toEqual([4003, 'account suspended']);
    expect(bystander.closeCode).toBeNull();
    // Tokens stay valid: a disconnect is not a logout.
    expect(await upgradeStatus(wsUrl(b, token))).toBe('open');
    await bystander.close();
  });

  it('refuses bad disconnect calls with precise errors, and takes an admin token', async () => {
    const [a] = stack.gateways;
    const admin = signToken({ user_id: 1, is_staff: true });
    expect((await call(a, 'POST', '/api/users/1%20OR%20*/disconnect', {})).status).toBe(400);
    const long = await call(a, 'POST', '/api/users/7/disconnect', { reason: 'é'.repeat(62) });
    expect(long.status).toBe(400);
    expect(long.body.message.join(' ')).toMatch(/123 bytes/);
    expect((await call(a, 'POST', '/api/users/7/disconnect', { reason: 5 })).status).toBe(400);
    expect((await call(a, 'POST', '/api/users/7/disconnect', {}, 'wrong')).status).toBe(401);
    expect((await call(a, 'POST', '/api/users/7/disconnect', {}, signToken({ user_id: 7 }))).status).toBe(403);
    expect((await call(a, 'POST', '/api/users/7/disconnect', {}, admin)).status).toBe(202);
  });

  it('revoke_tokens logs a user out everywhere: sockets closed, old tokens refused on every gateway, new ones work', async () => {
    const [a, b] = stack.gateways;
    const target = user('logout');
    const old = signToken({ user_id: target });
    const sockets = await Promise.all([a, b].map((gateway) => TestSocket.open(wsUrl(gateway, old))));
    const survivor = await TestSocket.open(
      wsUrl(a, signToken({ user_id: target, iat: Math.floor(Date.now() / 1000) - 5 })),
    );

    const answer = await call(b, 'POST', `/api/users/${target}/revoke_tokens`);
    expect(answer.status).toBe(202);
    const cutoff = Date.parse(answer.body.tokens_issued_before) / 1000;
    await closed([...sockets, survivor]);
    for (const socket of [...sockets, survivor]) expect(socket.closeCode).toBe(4003);
    expect(sockets[0].closeReason).toBe('logged out everywhere');

    for (const gateway of [a, b]) {
      expect(await upgradeStatus(wsUrl(gateway, old))).toBe(401);
      expect((await call(gateway, 'GET', '/api/notifications', undefined, old)).status).toBe(401);
    }
    // A token without iat counts as issued before any cut-off.
    expect(
      await upgradeStatus(wsUrl(a, signToken({ user_id: target }, undefined, { expiresIn: 300, noTimestamp: true }))),
    ).toBe(401);

    // A socket opened with a token issued after the cut-off cannot be refreshed with an old one.
    const fresh = signToken({ user_id: target, iat: cutoff });
    for (const gateway of [a, b]) expect(await upgradeStatus(wsUrl(gateway, fresh))).toBe('open');
    const socket = await TestSocket.open(wsUrl(a, fresh));
    socket.send({ event: 'refresh', data: { token: old } });
    expect((await eventually(() => socket.framesOf('error')[0])).data).toMatchObject({ code: 'invalid_token' });
    await socket.close();
  });

  it('keeps a revocation across a restart, and a gateway started later honours it', async () => {
    const target = user('restart');
    const old = signToken({ user_id: target });
    expect((await call(stack.gateways[0], 'POST', `/api/users/${target}/revoke_tokens`)).status).toBe(202);
    const later = await AppProcess.start('gateway', env, /Gateway listening/);
    extra.push(later);
    expect(await upgradeStatus(wsUrl(later, old))).toBe(401);
    expect(
      await upgradeStatus(wsUrl(later, signToken({ user_id: target, iat: Math.ceil(Date.now() / 1000) + 1 }))),
    ).toBe('open');
    await later.stop();
    extra = [];
  });

  it('presence counts the sockets open on every live gateway, and forgets a killed gateway within the TTL', async () => {
    const [a, b] = stack.gateways;
    const online = user('online');
    const offline = user('offline');
    const token = signToken({ user_id: online });
    const onA = await Promise.all([TestSocket.open(wsUrl(a, token)), TestSocket.open(wsUrl(a, token))]);
    await TestSocket.open(wsUrl(b, token)); // closed by killing its gateway
    const presence = async (gateway: AppProcess) => (await call(gateway, 'GET', `/api/presence/${online}`)).body;

    // Each gateway writes its counts within 20 ms of a change (batched), then every gateway reads them.
    for (const gateway of [a, b]) {
      await eventually(async () => ((await presence(gateway)).sockets === 3 ? true : undefined), 2000);
      expect(await presence(gateway)).toEqual({ user_id: online, online: true, sockets: 3, gateways: 2 });
    }
    await onA[0].close();
    await eventually(async () => ((await presence(b)).sockets === 2 ? true : undefined), 2000);
    const list = await call(a, 'GET', `/api/presence?user_ids=${online},${offline}`);
    expect(list.body.results).toEqual([
      { user_id: online, online: true, sockets: 2, gateways: 2 },
      { user_id: offline, online: false, sockets: 0, gateways: 0 },
    ]);
    expect(
      (await call(a, 'GET', `/api/presence?user_ids=${Array.from({ length: 501 }, (_, i) => i).join(',')}`)).status,
    ).toBe(400);
    expect((await call(a, 'GET', '/api/presence?user_ids=1,not%20an%20id')).status).toBe(400);

    const dashboard = await call(a, 'GET', '/api/admin/stats', undefined, signToken({ user_id: 1, is_staff: true }));
    expect(dashboard.body.sockets).toMatchObject({ scope: 'cluster', connections: 2, users: 1 });
    expect(dashboard.body.sockets.gateways).toHaveLength(2);

    await b.stop('SIGKILL');
    const started = Date.now();
    await eventually(
      async () => ((await presence(a)).sockets === 1 ? true : undefined),
      8000,
      'the killed gateway to stop counting',
    );
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await presence(a)).toEqual({ user_id: online, online: true, sockets: 1, gateways: 1 });
    await onA[1].close();
    await eventually(async () => ((await presence(a)).online === false ? true : undefined), 2000);
    expect(await presence(a)).toEqual({ user_id: online, online: false, sockets: 0, gateways: 0 });
  });
});
