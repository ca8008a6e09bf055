import { uniqueName } from '@test/support/test-context';
import { Redis } from 'ioredis';
import { RedisPresence } from './redis-presence';

describe('RedisPresence (real Redis)', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let prefix: string;
  let presence: RedisPresence;

  beforeEach(() => {
    prefix = `${uniqueName('presence')}:`;
    presence = new RedisPresence(redis, prefix, 60_000);
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  afterAll(() => redis.quit());

  it('counts a user over every live gateway, and forgets a count of zero', async () => {
    await presence.rewrite('gw-a', new Map());
    await presence.rewrite('gw-b', new Map());
    await presence.write('gw-a', new Map([['1', 2]]));
    await presence.write(
      'gw-b',
      new Map([
        ['1', 1],
        ['2', 1],
      ]),
    );
    await presence.write('gw-b', new Map([['2', 0]]));
    expect(await presence.lookup(['1', '2', '3'])).toEqual([
      { user_id: '1', online: true, sockets: 3, gateways: 2 },
      { user_id: '2', online: false, sockets: 0, gateways: 0 },
      { user_id: '3', online: false, sockets: 0, gateways: 0 },
    ]);
    expect(await redis.hkeys(`${prefix}{presence}:gateway:gw-b`)).toEqual(['1']);
  });

  it('stops counting a gateway whose heartbeat lapsed, and drops its entry', async () => {
    const shortLived = new RedisPresence(redis, prefix, 300);
    await shortLived.rewrite('gw-dead', new Map([['1', 1]]));
    await redis.persist(`${prefix}{presence}:gateway:gw-dead`); // a write recreated it without an expiry
    await presence.rewrite('gw-alive', new Map([['1', 1]]));
    expect((await presence.lookup(['1']))[0].sockets).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await presence.lookup(['1']))[0]).toEqual({ user_id: '1', online: true, sockets: 1, gateways: 1 });
    expect(await redis.zrange(`${prefix}{presence}:gateways`, '0', '-1')).toEqual(['gw-alive']);
    expect(await redis.exists(`${prefix}{presence}:gateway:gw-dead`)).toBe(0);
  });

  it('tells a heartbeat whose hash no longer matches, and a rewrite restores it', async () => {
    await presence.rewrite(
      'gw-a',
      new Map([
        ['1', 1],
        ['2', 3],
      ]),
    );
    expect(await presence.heartbeat('gw-a', 2)).toBe(true);
    await redis.del(`${prefix}{presence}:gateway:gw-a`); // as if it expired during an outage
    expect(await presence.heartbeat('gw-a', 2)).toBe(false);
    await presence.rewrite(
      'gw-a',
      new Map([
        ['1', 1],
        ['2', 3],
      ]),
    );
    expect(await presence.heartbeat('gw-a', 2)).toBe(true);
    expect(await redis.pttl(`${prefix}{presence}:gateway:gw-a`)).toBeGreaterThan(50_000);
  });

  it('lists each live gateway with its sockets by user, and forgets a removed one at once', async () => {
    await presence.rewrite('gw-a', new Map([['1', 2]]));
    await presence.rewrite(
      'gw-b',
      new Map([
        ['1', 1],
        ['7', 1],
      ]),
    );
    const listed = (await presence.gateways()).sort((a, b) => a.gateway.localeCompare(b.gateway));
    expect(listed.map(({ gateway, sockets }) => [gateway, Object.fromEntries(sockets)])).toEqual([
      ['gw-a', { '1': 2 }],
      ['gw-b', { '1': 1, '7': 1 }],
    ]);
    await presence.remove('gw-b');
    expect((await presence.gateways()).map(({ gateway }) => gateway)).toEqual(['gw-a']);
  });
});
