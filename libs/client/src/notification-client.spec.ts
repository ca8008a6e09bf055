import { FakeSocket, fakeClient, fakeToken, tick } from '@test/support/fake-websocket';
import { backoffDelay } from './backoff';
import { NotificationClient } from './notification-client';
import { tokenExpired } from './token';
import type { FetchLike, NotificationClientOptions, ReadReceipt } from './types';

/**
 * The client against a fake WebSocket, where the timing must be forced (answers out of order, a
 * failing catch-up, dead sockets, timers). tests/integration/sdk.int-spec.ts drives it against the
 * real gateway.
 */
describe('NotificationClient (fake WebSocket, fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    FakeSocket.instances = [];
  });
  afterEach(() => jest.useRealTimers());

  const receipt = (ids: number[], all = false): ReadReceipt => ({ ids, all, unread_count: 0 });
  const connected = async (options: Partial<NotificationClientOptions> = {}) => {
    const made = fakeClient(options);
    const connecting = made.client.connect();
    await tick();
    FakeSocket.last.accept();
    await connecting;
    return made;
  };

  describe('requests and answers (defect 1)', () => {
    it('matches answers to requests by ref, whatever order they come in', async () => {
      const { client } = await connected();
      const one = client.markRead(1);
      const all = client.markAllRead();
      const [readOne, readAll] = FakeSocket.last.sentOf('read');
      expect(readOne.ref).not.toEqual(readAll.ref);
      FakeSocket.last.frame({ event: 'read_confirmed', data: receipt([], true), ref: readAll.ref });
      FakeSocket.last.frame({ event: 'read_confirmed', data: receipt([1]), ref: readOne.ref });
      await expect(one).resolves.toEqual(receipt([1]));
      await expect(all).resolves.toEqual(receipt([], true));
    });

    it('drops an answer that comes after its timeout instead of giving it to the next request', async () => {
      const { client } = await connected({ requestTimeoutMs: 1000 });
      const late = client.markRead(1);
      const lateRejected = expect(late).rejects.toThrow(/No answer to read within 1000 ms/);
      await tick(1000);
      await lateRejected;
      const next = client.markRead(2);
      const [first, second] = FakeSocket.last.sentOf('read');
      FakeSocket.last.frame({ event: 'read_confirmed', data: receipt([1]), ref: first.ref });
      FakeSocket.last.frame({ event: 'read_confirmed', data: receipt([2]), ref: second.ref });
      await expect(next).resolves.toEqual(receipt([2]));
    });

    it('rejects only the request the rate limiter refused', async () => {
      const { client } = await connected();
      const refused = client.markRead(1);
      const taken = client.markRead(2);
      const [first, second] = FakeSocket.last.sentOf('read');
      FakeSocket.last.frame({ event: 'error', data: { code: 'rate_limited', message: 'slow down' }, ref: first.ref });
      FakeSocket.last.frame({ event: 'read_confirmed', data: receipt([2]), ref: second.ref });
      await expect(refused).rejects.toMatchObject({ code: 'rate_limited' });
      await expect(taken).resolves.toEqual(receipt([2]));
    });
  });

  describe('a catch-up the inbox could not answer (defect 2)', () => {
    it('is not blamed on a read, is asked again with the same since, and reconnects from that since until resumed', async () => {
      const { client, errors } = await connectedAfter(5);
      const read = client.markRead(1);
      FakeSocket.last.frame({ event: 'error', data: { code: 'unavailable', message: 'inbox down' } });
      expect(errors).toEqual(['unavailable']);
      await tick(1000);
      expect(FakeSocket.last.sentOf('resume')).toEqual([
        { event: 'resume', data: { since: 5 }, ref: expect.any(String) },
      ]);
      FakeSocket.last.frame({
        event: 'read_confirmed',
        data: receipt([1]),
        ref: FakeSocket.last.sentOf('read')[0].ref,
      });
      await expect(read).resolves.toEqual(receipt([1]));

      FakeSocket.last.notification(9); // a live frame before resumed must not move where it resumes from
      FakeSocket.last.drop();
      await tick(1000);
      expect(FakeSocket.last.since).toBe('5');
      FakeSocket.last.accept(5);
      FakeSocket.last.frame({ event: 'resumed', data: { since: 5, count: 0, last_id: 9 } });
      FakeSocket.last.drop();
      await tick(1000);
      expect(FakeSocket.last.since).toBe('9');
    });

    async function connectedAfter(since: number) {
      const made = fakeClient({ since });
      const connecting = made.client.connect();
      await tick();
      expect(FakeSocket.last.since).toBe(String(since));
      FakeSocket.last.accept(since);
      await connecting;
      return made;
    }
  });

  it('says a gap was not filled when it has no REST API', async () => {
    const { client } = await connected({ since: 0 });
    const gaps: unknown[] = [];
    client.on('gap', (gap) => gaps.push(gap));
    FakeSocket.last.frame({ event: 'resume_gap', data: { since: 0, window: 2, fetch: '/api/notifications?after=0' } });
    await tick();
    expect(gaps).toEqual([{ since: 0, window: 2, fetch: '/api/notifications?after=0', filled: 0, complete: false }]);
  });

  it('resumes from the position in connected when it has received nothing (defect 3)', async () => {
    await connected();
    FakeSocket.last.drop();
    await tick(1000);
    expect(FakeSocket.last.since).toBe('0');
    FakeSocket.instances = [];
    const { client } = fakeClient();
    void client.connect();
    await tick();
    FakeSocket.last.accept(41);
    FakeSocket.last.drop(1001);
    await tick(1000);
    expect(FakeSocket.last.since).toBe('41');
  });

  describe('connect failures (defect 4)', () => {
    it('resolves a path against the page, and refuses a URL it cannot use when made', () => {
      const location = { href: 'https://app.example/inbox' };
      Object.assign(globalThis, { location });
      try {
        const { client } = fakeClient({ url: '/ws/notifications/' });
        void client.connect();
        return tick().then(() => expect(FakeSocket.last.url).toBe('wss://app.example/ws/notifications/'));
      } finally {
        delete (globalThis as { location?: unknown }).location;
      }
    });

    it.each([
      ['a path outside a browser', '/ws/notifications/', /needs a page/],
      ['an ftp URL', 'ftp://host/', /ws:\/\/, wss:\/\/ or a path/],
    ])('throws for %s', (_, url, message) => {
      expect(() => fakeClient({ url })).toThrow(message);
    });

    it('fails (state failed, connect() rejects) when the WebSocket constructor throws for a static token', async () => {
      class Refusing extends FakeSocket {
        constructor(url: string) {
          super(url);
          throw new SyntaxError("Failed to construct 'WebSocket': The subprotocol 'a b' is invalid");
        }
      }
      const { client, errors } = fakeClient({ WebSocket: Refusing, token: 'a b' });
      const connecting = client.connect();
      await tick();
      await expect(connecting).rejects.toThrow(/socket refused/);
      expect([client.state, errors]).toEqual(['failed', ['socket_refused']]);
    });

    it('gives a token function that hangs tokenTimeoutMs, then tries again', async () => {
      let calls = 0;
      const { client, errors } = fakeClient({
        token: () => (++calls === 1 ? new Promise<string>(() => undefined) : 'fresh'),
        tokenTimeoutMs: 2000,
      });
      void client.connect();
      await tick(2000);
      expect([errors, client.state]).toEqual([['token_unavailable'], 'reconnecting']);
      await tick(1000);
      expect(FakeSocket.last.protocols).toEqual(['bearer', 'fresh']);
    });

    it('gives up on a handshake that never completes after connectTimeoutMs and reconnects', async () => {
      const { client } = fakeClient({ connectTimeoutMs: 3000 });
      const disconnects: unknown[] = [];
      client.on('disconnected', (event) => disconnects.push(event));
      void client.connect();
      await tick(3000);
      expect(FakeSocket.instances[0].closedWith).not.toBeNull();
      expect(disconnects).toEqual([expect.objectContaining({ code: 1006, willReconnect: true })]);
      await tick(1000);
      expect(FakeSocket.instances).toHaveLength(2);
    });
  });

  describe('options (defects 5 and 8)', () => {
    it.each([
      [{ since: NaN }, 'since must be a whole number of at least 0; got NaN'],
      [{ since: -1 }, 'since must be a whole number of at least 0; got -1'],
      [{ dedupeWindow: NaN }, 'dedupeWindow must be a whole number of at least 1000; got NaN'],
      [{ dedupeWindow: 10 }, 'dedupeWindow must be a whole number of at least 1000; got 10'],
      [{ token: '' }, 'token must be a non-empty string or a function returning one'],
      [{ reconnect: { maxDelayMs: 0 } }, 'reconnect.maxDelayMs must be a number of at least 1; got 0'],
    ])('refuses %j, saying what is wrong', (options, message) => {
      expect(() => fakeClient(options as Partial<NotificationClientOptions>)).toThrow(message);
    });
  });

  describe('closes (defect 6)', () => {
    it.each([1003, 1009])('stops in state failed on %i (a client bug), reporting it', async (code) => {
      const { client, errors } = await connected();
      FakeSocket.last.drop(code, 'bad frame');
      await tick(60_000);
      expect([client.state, errors, FakeSocket.instances.length]).toEqual(['failed', ['protocol_error'], 1]);
    });

    it('stops on 4003 (disconnected by the server), even with a token function', async () => {
      const { client } = await connected({ token: () => 'token' });
      const disconnects: unknown[] = [];
      client.on('disconnected', (event) => disconnects.push(event));
      FakeSocket.last.drop(4003, 'logged out');
      await tick(60_000);
      expect(disconnects).toEqual([{ code: 4003, reason: 'logged out', willReconnect: false }]);
      expect([client.state, FakeSocket.instances.length]).toEqual(['closed', 1]);
    });

    it('stops in state unauthorized on 4001 with a static token; asks a token function again', async () => {
      const { client } = await connected();
      FakeSocket.last.drop(4001);
      expect(client.state).toBe('unauthorized');
      const tokens = ['first', 'second'];
      const withFunction = await connected({ token: () => tokens.shift()! });
      FakeSocket.last.drop(4001);
      await tick(1000);
      expect([withFunction.client.state, FakeSocket.last.protocols]).toEqual(['reconnecting', ['bearer', 'second']]);
    });

    it('keeps backing off after 1008/4008 even when each reconnection reaches connected', async () => {
      const { client } = await connected({ reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000 } });
      const delays: number[] = [];
      client.on('disconnected', (event) => delays.push(event.delayMs!));
      for (let i = 0; i < 3; i++) {
        FakeSocket.last.drop(i % 2 ? 1008 : 4008);
        await tick(delays[i]);
        FakeSocket.last.accept();
      }
      FakeSocket.last.drop(1006);
      expect(delays).toEqual([500, 1000, 2000, 4000]);
    });

    it('after maxHandshakeFailures in a row stops in state unauthorized, having asked the token function again halfway', async () => {
      let asked = 0;
      const { client, errors } = fakeClient({ token: () => `t${++asked}`, maxHandshakeFailures: 4 });
      const connecting = client.connect();
      for (let i = 0; i < 4; i++) {
        await tick(60_000);
        FakeSocket.last.drop(1006);
      }
      await expect(connecting).rejects.toThrow(/handshake failed 4 times/);
      expect(FakeSocket.instances.map((socket) => (socket.protocols as string[])[1])).toEqual(['t1', 't1', 't2', 't2']);
      expect([client.state, errors]).toEqual(['unauthorized', ['handshake_refused']]);
    });

    it('does not try an expired static token, allowing the server its 30 s of clock skew', async () => {
      const now = Date.now();
      const almost = fakeClient({ token: fakeToken({ exp: Math.floor(now / 1000) - 20 }) });
      void almost.client.connect();
      await tick();
      expect(FakeSocket.instances).toHaveLength(1);
      const expired = fakeClient({ token: fakeToken({ exp: Math.floor(now / 1000) - 40 }) });
      await expect(expired.client.connect()).rejects.toThrow(/token expired/);
      expect([expired.client.state, expired.errors, FakeSocket.instances.length]).toEqual([
        'unauthorized',
        ['token_expired'],
        1,
      ]);
    });
  });

  describe('the network and the page (defect 7)', () => {
    it('finds a dead socket with a ping on a timer and reconnects', async () => {
      const { client } = await connected({ pingIntervalMs: 20_000, requestTimeoutMs: 5000 });
      await tick(20_000);
      const [ping] = FakeSocket.last.sentOf('ping');
      FakeSocket.last.frame({ event: 'pong', data: null, ref: ping.ref });
      await tick(20_000);
      expect(FakeSocket.last.sentOf('ping')).toHaveLength(2);
      await tick(5000); // no pong: the socket is half-open
      expect([client.state, FakeSocket.instances[0].closedWith]).toEqual(['reconnecting', expect.anything()]);
    });

    it('reconnects at once on online, not after the backoff; waits while offline', async () => {
      const { client, page } = await connected({ reconnect: { initialDelayMs: 20_000 } });
      page.onLine = false;
      FakeSocket.last.drop();
      await tick(60_000);
      expect(FakeSocket.instances).toHaveLength(1);
      page.onLine = true;
      page.fire('online');
      await tick();
      expect([FakeSocket.instances.length, client.state]).toEqual([2, 'reconnecting']);
    });

    it('pings when the page becomes visible again', async () => {
      const { page } = await connected();
      page.fire('visibilitychange');
      expect(FakeSocket.last.sentOf('ping')).toHaveLength(1);
    });

    it('closes cleanly on pagehide and comes back on pageshow', async () => {
      const { client, page } = await connected();
      page.fire('pagehide');
      expect([client.state, FakeSocket.last.closedWith]).toEqual(['closed', { code: 1000, reason: 'page hidden' }]);
      page.fire('pageshow');
      await tick();
      FakeSocket.last.accept();
      expect([client.state, FakeSocket.instances.length]).toEqual(['connected', 2]);
    });

    it('stops listening to the page on close()', async () => {
      const { client, page } = await connected();
      expect(page.count('online')).toBe(1);
      await client.close();
      expect(page.count('online')).toBe(0);
    });
  });

  describe('smaller defects (8)', () => {
    it('connects again after close() (React StrictMode mounts, unmounts, mounts)', async () => {
      const { client, states } = await connected();
      await client.close();
      const again = client.connect();
      await tick();
      FakeSocket.last.accept();
      await expect(again).resolves.toMatchObject({ reconnected: true });
      expect(states).toEqual(['connecting', 'connected', 'closed', 'connecting', 'connected']);
    });

    it('reports a listener that throws as an error event, and goes on', async () => {
      const { client, errors } = await connected();
      const seen: number[] = [];
      client.on('notification', () => {
        throw new Error('boom');
      });
      client.on('notification', (frame) => seen.push(frame.id));
      FakeSocket.last.notification(1);
      expect([seen, errors]).toEqual([[1], ['listener_error']]);
    });

    it('marks read over REST while reconnecting, and tells the read listeners', async () => {
      const calls: string[] = [];
      const fetch: FetchLike = async (url, init) => {
        calls.push(`${init.method} ${url} ${init.headers.Authorization}`);
        return { ok: true, status: 200, json: async () => receipt([url.includes('/7/') ? 7 : 8]) };
      };
      const { client } = await connected({ apiUrl: undefined, fetch });
      const reads: unknown[] = [];
      client.on('read', (event) => reads.push(event));
      FakeSocket.last.drop();
      await expect(client.markRead([7, 8])).resolves.toEqual({ ids: [7, 8], all: false, unread_count: 0 });
      expect(calls).toEqual([
        'POST http://gateway.test/api/notifications/7/read Bearer static-token',
        'POST http://gateway.test/api/notifications/8/read Bearer static-token',
      ]);
      expect(reads).toHaveLength(1);
    });

    it('makes ping wait for the reconnection instead of failing at once', async () => {
      const { client } = await connected();
      FakeSocket.last.drop();
      const ping = client.ping();
      await tick(1000);
      FakeSocket.last.accept();
      await tick();
      FakeSocket.last.frame({ event: 'pong', data: null, ref: FakeSocket.last.sentOf('ping')[0].ref });
      await expect(ping).resolves.toBeGreaterThanOrEqual(0);
    });

    it('drops replays within the dedupe window', async () => {
      const { client } = await connected({ dedupeWindow: 1000 });
      const ids: number[] = [];
      client.on('notification', (frame) => ids.push(frame.id));
      for (const id of [1, 2, 1, 3, 2]) FakeSocket.last.notification(id);
      expect(ids).toEqual([1, 2, 3]);
    });
  });

  describe('refreshing the token in place (issue 16)', () => {
    const lifetimeS = 300;
    const tokenFunction = () => {
      let n = 0;
      return () => {
        const iat = Math.floor(Date.now() / 1000);
        return fakeToken({ user_id: 1, n: ++n, iat, exp: iat + lifetimeS });
      };
    };

    it('sends a refresh frame a tenth of the lifetime (at most 30 s) before expiry, and again after each refreshed', async () => {
      const { client } = await connected({ token: tokenFunction() });
      const refreshed: unknown[] = [];
      client.on('refreshed', (event) => refreshed.push(event));
      // exp and iat are whole seconds: the refresh comes up to a second before 30 s ahead of exp
      await tick((lifetimeS - 31) * 1000 - 1);
      expect(FakeSocket.last.sentOf('refresh')).toHaveLength(0);
      await tick(1001);
      const [refresh] = FakeSocket.last.sentOf('refresh');
      expect(refresh).toEqual({ event: 'refresh', data: { token: expect.any(String) }, ref: expect.any(String) });
      FakeSocket.last.frame({ event: 'refreshed', data: { expires_at: 'later' }, ref: refresh.ref });
      await tick();
      expect(refreshed).toEqual([{ expires_at: 'later' }]);
      await tick((lifetimeS - 30) * 1000);
      expect(FakeSocket.last.sentOf('refresh')).toHaveLength(2);
      expect(FakeSocket.instances).toHaveLength(1);
    });

    it('retries a refused refresh with backoff until the expiry, then reconnects at 4001', async () => {
      const { client, errors } = await connected({ token: tokenFunction(), refreshLeadMs: 2000 });
      await tick((lifetimeS - 2) * 1000);
      const answer = () => {
        const last = FakeSocket.last.sentOf('refresh').at(-1)!;
        FakeSocket.last.frame({ event: 'error', data: { code: 'invalid_token', message: 'no' }, ref: last.ref });
      };
      answer();
      await tick(500);
      expect(FakeSocket.last.sentOf('refresh')).toHaveLength(2);
      answer();
      await tick(1000);
      answer();
      await tick(2000);
      expect(errors).toEqual(['refresh_failed']);
      FakeSocket.last.drop(4001, 'token expired');
      await tick(1000);
      expect([client.state, FakeSocket.instances.length]).toEqual(['reconnecting', 2]);
    });

    it('does not retry when the server has no refresh frame (unknown_event)', async () => {
      const { errors } = await connected({ token: tokenFunction() });
      await tick((lifetimeS - 30) * 1000);
      const [refresh] = FakeSocket.last.sentOf('refresh');
      FakeSocket.last.frame({ event: 'error', data: { code: 'unknown_event', message: '?' }, ref: refresh.ref });
      await tick(20_000);
      expect([errors, FakeSocket.last.sentOf('refresh').length]).toEqual([['refresh_failed'], 1]);
    });
  });

  describe('state and listeners', () => {
    it('emits state changes with their reason, and logs them with debug', async () => {
      const logged: string[] = [];
      const { client } = await connected({ debug: (message) => logged.push(message) });
      const changes: unknown[] = [];
      client.on('state', (change) => changes.push(change));
      FakeSocket.last.drop(1013, 'try later');
      expect(changes).toEqual([
        { previous: 'connected', current: 'reconnecting', reason: 'close code 1013: try later' },
      ]);
      expect(logged).toContain('connected -> reconnecting (close code 1013: try later)');
    });

    it('has once, off and removeAllListeners', async () => {
      const { client } = await connected();
      const seen: string[] = [];
      client.once('notification', () => seen.push('once'));
      const listener = () => seen.push('off');
      client.on('notification', listener);
      client.off('notification', listener);
      client.on('read', () => seen.push('read'));
      FakeSocket.last.notification(1);
      FakeSocket.last.notification(2);
      client.removeAllListeners();
      FakeSocket.last.frame({ event: 'read', data: receipt([1]) });
      expect(seen).toEqual(['once']);
    });
  });
  describe('broadcasts', () => {
    it('emits each once, and reconnects after the highest one delivered', async () => {
      const { client } = await connected();
      const ids: number[] = [];
      client.on('broadcast', (frame) => ids.push(frame.id));
      for (const id of [4, 6, 5, 6, 4]) FakeSocket.last.broadcast(id);
      expect(ids).toEqual([4, 6, 5]);
      expect(client.lastBroadcastId).toBe(6);
      FakeSocket.last.close(1006);
      await tick(60_000);
      expect(FakeSocket.last.broadcastSince).toBe('6');
      FakeSocket.last.accept(0, 6);
      FakeSocket.last.broadcast(6);
      FakeSocket.last.broadcast(7);
      expect(ids).toEqual([4, 6, 5, 7]);
      await client.close();
    });

    it('asks for none from before at first, then resumes from the last_broadcast_id of connected', async () => {
      const { client } = fakeClient({});
      const connecting = client.connect();
      await tick();
      expect(FakeSocket.last.broadcastSince).toBeNull();
      FakeSocket.last.accept(0, 12);
      await connecting;
      expect(client.lastBroadcastId).toBe(12);
      FakeSocket.last.close(1006);
      await tick(60_000);
      expect(FakeSocket.last.broadcastSince).toBe('12');
      await client.close();
    });

    it('asks for those after broadcastSince at the first connection, and refuses one that is no id', async () => {
      const { client } = fakeClient({ broadcastSince: 3 });
      void client.connect();
      await tick();
      expect(FakeSocket.last.broadcastSince).toBe('3');
      await client.close();
      expect(() => fakeClient({ broadcastSince: Number.NaN })).toThrow(
        'broadcastSince must be a whole number of at least 0; got NaN',
      );
    });
  });
});

describe('NotificationClient without a WebSocket', () => {
  it('says what to pass', () => {
    const options = { url: 'ws://x/', token: 't', WebSocket: undefined };
    const saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      expect(() => new NotificationClient(options)).toThrow(/No WebSocket implementation/);
    } finally {
      if (saved) (globalThis as { WebSocket?: unknown }).WebSocket = saved;
    }
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay, between half and all of it', () => {
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, {}, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, {}, () => 0.999999))).toEqual([500, 1000, 2000, 4000]);
  });

  it('stops growing at the maximum', () => {
    expect(backoffDelay(30, { maxDelayMs: 10_000 }, () => 0.999999)).toBe(10_000);
    expect(backoffDelay(1000, {}, () => 0)).toBe(15_000);
  });

  it('follows the options', () => {
    expect(backoffDelay(2, { initialDelayMs: 100, factor: 3 }, () => 0.5)).toBe(675);
  });
});

describe('tokenExpired', () => {
  it('reads exp without verifying, allowing 30 s of clock skew', () => {
    expect(tokenExpired(fakeToken({ exp: 100 }), 130_000)).toBe(true);
    expect(tokenExpired(fakeToken({ exp: 100 }), 129_999)).toBe(false);
    expect(tokenExpired(fakeToken({ exp: 100 }), 100_000, 0)).toBe(true);
  });

  it('says false for anything it cannot read (the server decides)', () => {
    expect(tokenExpired(fakeToken({ user_id: 1 }))).toBe(false);
    expect(tokenExpired('not-a-jwt')).toBe(false);
  });
});
