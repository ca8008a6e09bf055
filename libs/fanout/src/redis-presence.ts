import type { Cluster, Redis } from 'ioredis';

/** One gateway's share of the cluster's presence. */
export interface GatewayPresence {
  gateway: string;
  /** Open connections (sockets and Server-Sent Events streams) by user on that gateway. */
  sockets: Map<string, number>;
  /** How many of that gateway's connections are Server-Sent Events streams. */
  streams: number;
}

/** A user's sockets counted over every live gateway. */
export interface UserPresence {
  user_id: string;
  online: boolean;
  sockets: number;
  gateways: number;
}

/**
 * Who is connected where, kept in Redis by every gateway for all of them to read:
 * - `…{presence}:gateway:<id>`, a hash of user id → that gateway's open sockets for the user. A
 *   gateway writes the absolute counts it holds (an HSET and an HDEL for all the users whose count
 *   changed since its last write), so a lost or repeated write cannot drift and a count cannot go
 *   negative;
 * - `…{presence}:gateways`, a sorted set of gateway ids scored by when their entry lapses. A gateway
 *   renews it (and its hash's expiry) on every heartbeat; one that dies (SIGKILL) stops counting
 *   once its score has passed and its hash expires by itself. A restarted gateway has a new id.
 * - `…{presence}:streams`, a hash of gateway id → how many of its connections are Server-Sent
 *   Events streams (the dashboard shows them beside sockets); read only for live gateways.
 * The hash tag keeps every key in one slot of a Redis Cluster.
 */
export class RedisPresence {
  private readonly gatewaysKey: string;
  private readonly streamsKey: string;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {
    this.gatewaysKey = `${prefix}{presence}:gateways`;
    this.streamsKey = `${prefix}{presence}:streams`;
  }

  /** Records how many sockets `gateway` holds of each user (0: none): at most one HSET and one HDEL. */
  async write(gateway: string, sockets: Map<string, number>): Promise<void> {
    const key = this.gatewayKey(gateway);
    const gone = [...sockets].filter(([, count]) => count === 0).map(([userId]) => userId);
    const held = new Map([...sockets].filter(([, count]) => count > 0));
    await Promise.all([
      held.size > 0 ? this.redis.hset(key, held) : null,
      gone.length > 0 ? this.redis.hdel(key, ...gone) : null,
    ]);
  }

  /** Records how many of `gateway`'s connections are streams. */
  async writeStreams(gateway: string, streams: number): Promise<void> {
    await (streams > 0
      ? this.redis.hset(this.streamsKey, gateway, streams)
      : this.redis.hdel(this.streamsKey, gateway));
  }

  /**
   * Keeps `gateway` counted for another TTL. Resolves to false when its hash in Redis no longer
   * matches the number of users it holds (it expired while Redis was away, or was flushed): the
   * caller then `rewrite`s it.
   */
  async heartbeat(gateway: string, users: number): Promise<boolean> {
    const key = this.gatewayKey(gateway);
    const results = await this.redis
      .multi()
      .zadd(this.gatewaysKey, Date.now() + this.ttlMs, gateway)
      .pexpire(key, this.ttlMs)
      .hlen(key)
      .exec();
    return Number(results?.[2]?.[1]) === users;
  }

  /** Replaces the gateway's hash with what it holds, atomically. */
  async rewrite(gateway: string, sockets: Map<string, number>): Promise<void> {
    const key = this.gatewayKey(gateway);
    const transaction = this.redis.multi().del(key);
    if (sockets.size > 0) transaction.hset(key, sockets).pexpire(key, this.ttlMs);
    await transaction.zadd(this.gatewaysKey, Date.now() + this.ttlMs, gateway).exec();
  }

  /** A gateway shutting down stops counting at once. */
  async remove(gateway: string): Promise<void> {
    await this.redis
      .multi()
      .zrem(this.gatewaysKey, gateway)
      .del(this.gatewayKey(gateway))
      .hdel(this.streamsKey, gateway)
      .exec();
  }

  /** Each user's sockets over the live gateways, in the order asked. */
  async lookup(userIds: string[]): Promise<UserPresence[]> {
    const gateways = await this.liveGateways();
    const counts = await Promise.all(gateways.map((gateway) => this.redis.hmget(this.gatewayKey(gateway), ...userIds)));
    return userIds.map((userId, at) => {
      const perGateway = counts.map((values) => Number(values[at] ?? 0)).filter((sockets) => sockets > 0);
      const sockets = perGateway.reduce((sum, count) => sum + count, 0);
      return { user_id: userId, online: sockets > 0, sockets, gateways: perGateway.length };
    });
  }

  /** Every live gateway with its sockets by user (for the dashboard: one read per gateway). */
  async gateways(): Promise<GatewayPresence[]> {
    const gateways = await this.liveGateways();
    if (gateways.length === 0) return [];
    const [hashes, streams] = await Promise.all([
      Promise.all(gateways.map((gateway) => this.redis.hgetall(this.gatewayKey(gateway)))),
      this.redis.hmget(this.streamsKey, ...gateways),
    ]);
    return gateways.map((gateway, at) => ({
      gateway,
      sockets: new Map(Object.entries(hashes[at]).map(([userId, count]) => [userId, Number(count)])),
      streams: Number(streams[at] ?? 0),
    }));
  }

  /**
   * Gateways whose entry has not lapsed. Lapsed ones are dropped on the way, with their hash: it
   * expires by itself, unless a write recreated it after it had expired (without an expiry).
   */
  private async liveGateways(): Promise<string[]> {
    const now = Date.now();
    const results = await this.redis
      .multi()
      .zrangebyscore(this.gatewaysKey, '-inf', now)
      .zremrangebyscore(this.gatewaysKey, '-inf', now)
      .zrangebyscore(this.gatewaysKey, now, '+inf')
      .exec();
    const lapsed = (results?.[0]?.[1] as string[] | undefined) ?? [];
    if (lapsed.length > 0)
      await Promise.all([
        this.redis.del(...lapsed.map((gateway) => this.gatewayKey(gateway))),
        this.redis.hdel(this.streamsKey, ...lapsed),
      ]);
    return (results?.[2]?.[1] as string[] | undefined) ?? [];
  }

  private gatewayKey(gateway: string): string {
    return `${this.prefix}{presence}:gateway:${gateway}`;
  }
}
