import { Pool } from 'pg';
import type { CacheEntry, DjangoCacheStore } from './django-cache-store';

/** What Django's DatabaseCache writes for timeout None: `datetime.max` without microseconds. */
const NEVER = new Date('9999-12-31T23:59:59Z');

/** Expired rows deleted per statement, and how often (Django culls only when its own sets run). */
const CULL_BATCH = 1000;
const CULL_INTERVAL_MS = 60_000;

/**
 * Django's DatabaseCache table (`manage.py createcachetable`: `cache_key` varchar(255) primary
 * key, `value` text, `expires` timestamptz): `value` is the base64 of the pickle, `expires` the
 * time it ends, whole seconds as Django writes it. One upsert per batch; a pool of its own, so a
 * slow cache table never holds the connections the inbox writes need.
 */
export class DatabaseCacheStore implements DjangoCacheStore {
  private readonly pool: Pool;
  private readonly upsert: string;
  private readonly cull: string;
  private lastCull = 0;

  constructor(databaseUrl: string, table: string) {
    // A statement stuck longer than this fails (and is counted) rather than holding the writes behind it.
    this.pool = new Pool({
      connectionString: databaseUrl,
      max: 2,
      connectionTimeoutMillis: 5000,
      query_timeout: 10_000,
    });
    // Errors of idle connections (the server restarting) surface on the next query instead.
    this.pool.on('error', () => undefined);
    const name = `"${table}"`;
    this.upsert = `INSERT INTO ${name} ("cache_key", "value", "expires")
      SELECT * FROM unnest($1::varchar[], $2::text[]) AS x, (SELECT $3::timestamptz) AS e
      ON CONFLICT ("cache_key") DO UPDATE SET "value" = EXCLUDED."value", "expires" = EXCLUDED."expires"`;
    this.cull = `DELETE FROM ${name} WHERE "cache_key" IN (
      SELECT "cache_key" FROM ${name} WHERE "expires" < now() LIMIT ${CULL_BATCH})`;
  }

  async setMany(entries: CacheEntry[], timeoutSeconds: number): Promise<void> {
    // ON CONFLICT may not touch a row twice in one statement: the last value of a key wins.
    const latest = new Map(entries.map((entry) => [entry.key, entry.value]));
    await this.pool.query(this.upsert, [
      [...latest.keys()],
      [...latest.values()].map((value) => value.toString('base64')),
      expiresAt(timeoutSeconds),
    ]);
    if (Date.now() - this.lastCull >= CULL_INTERVAL_MS) {
      this.lastCull = Date.now();
      await this.pool.query(this.cull);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Django's `expires`: now plus the timeout, cut to the second. */
function expiresAt(timeoutSeconds: number): Date {
  if (timeoutSeconds === 0) return NEVER;
  return new Date(Math.floor(Date.now() / 1000 + timeoutSeconds) * 1000);
}
