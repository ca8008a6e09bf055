import { Redis } from 'ioredis';
import { setTimeout } from 'node:timers/promises';
import type { CacheEntry, DjangoCacheStore } from './django-cache-store';

/** A command a connected Redis leaves unanswered this long fails (and is counted). */
const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Django's RedisCache (Django 4.0+) and django-redis's: a plain string per key, the value the
 * pickle itself (both pickle every value but an int), `SET ... EX` for a timeout. One pipeline,
 * so one round trip, per batch.
 */
export class RedisCacheStore implements DjangoCacheStore {
  private readonly redis: Redis;

  constructor(redisUrl: string) {
    // Few retries: a cache write that cannot get through is counted and given up, not queued for long.
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, commandTimeout: COMMAND_TIMEOUT_MS });
    this.redis.on('error', () => undefined); // each failed command rejects; the writer logs it
  }

  async setMany(entries: CacheEntry[], timeoutSeconds: number): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const { key, value } of entries)
      if (timeoutSeconds === 0) pipeline.set(key, value);
      else pipeline.set(key, value, 'EX', timeoutSeconds);
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error)?.[0];
    if (failed) throw failed;
  }

  async close(): Promise<void> {
    // QUIT waits for an answer a stuck server never gives: after a second the socket is just
    // closed, as it is at once when there is no connection to quit.
    if (this.redis.status === 'ready')
      await Promise.race([this.redis.quit().catch(() => undefined), setTimeout(1000, undefined, { ref: false })]);
    this.redis.disconnect();
  }
}
