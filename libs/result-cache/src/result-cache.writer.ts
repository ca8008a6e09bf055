import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ResultCacheConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { setTimeout as sleep } from 'node:timers/promises';
import { CELERY_TASK_KEY_PREFIX, celeryResultMeta, djangoCacheKey } from './celery-result-meta';
import type { CachedResult } from './celery-result-meta';
import { DatabaseCacheStore } from './database-cache-store';
import type { CacheEntry, DjangoCacheStore } from './django-cache-store';
import { pickleDumps } from './python-pickle';
import { RedisCacheStore } from './redis-cache-store';

/** The most entries one statement or pipeline takes. */
const MAX_BATCH = 500;
/** DatabaseCache's `cache_key` is varchar(255); a longer key is refused there (Django warns past 250). */
const MAX_KEY_LENGTH = 255;

interface PendingEntry {
  entry: CacheEntry;
  done: () => void;
}

/**
 * Writes task results to the Django cache that a Django app with CELERY_RESULT_BACKEND =
 * 'django-cache' reads them from, as django-celery-results' CacheBackend writes them: the key
 * `celery-task-meta-<task id>` through Django's key function, the value Celery's meta dict
 * pickled (exceptions stay exception instances, as with Celery's pickle serializer).
 *
 * The cache is a copy for the Django app, never the record: a write that fails is logged and
 * counted, and `write` never rejects, so no task waits on, or is retried for, the cache. Writes
 * that arrive while one is running go together in the next (group commit, as the inbox writes);
 * a caller waits for its write at most RESULT_CACHE_TIMEOUT_MS.
 */
@Injectable()
export class ResultCacheWriter implements OnModuleDestroy {
  private readonly logger = new Logger(ResultCacheWriter.name);
  private readonly store: DjangoCacheStore | null;
  private readonly pending: PendingEntry[] = [];
  private draining: Promise<void> | null = null;
  private readonly written;
  private readonly failed;

  constructor(
    private readonly config: ResultCacheConfig,
    metrics: MetricsRegistry,
  ) {
    this.store = config.RESULT_BACKENDS.includes('django-cache') ? storeOf(config) : null;
    this.written = metrics.counter({
      name: 'notify_result_cache_writes_total',
      help: 'Task results written to the Django cache (RESULT_BACKENDS with django-cache)',
    });
    this.failed = metrics.counter({
      name: 'notify_result_cache_write_failures_total',
      help: 'Task results not written to the Django cache (the cache refused or was unreachable; the task was done anyway)',
    });
  }

  /** Whether results go to a Django cache at all. */
  get enabled(): boolean {
    return this.store !== null;
  }

  /** Queues the result's cache write; resolves when it is done, failed, or waited for long enough. */
  write(result: CachedResult): Promise<void> {
    if (!this.store) return Promise.resolve();
    const key = djangoCacheKey(
      this.config.RESULT_CACHE_KEY_PREFIX,
      this.config.RESULT_CACHE_VERSION,
      CELERY_TASK_KEY_PREFIX + result.taskId,
    );
    if (this.config.RESULT_CACHE === 'database' && key.length > MAX_KEY_LENGTH) {
      this.failed.inc();
      this.logger.warn({ msg: 'Result not cached: its key is longer than cache_key holds', taskId: result.taskId });
      return Promise.resolve();
    }
    const entry = { key, value: pickleDumps(celeryResultMeta(result)) };
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.config.RESULT_CACHE_TIMEOUT_MS);
      timer.unref();
      this.pending.push({
        entry,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.store!.setMany(
          batch.map((pending) => pending.entry),
          this.config.RESULT_CACHE_EXPIRES_SECONDS,
        );
        this.written.inc(batch.length);
      } catch (error) {
        this.failed.inc(batch.length);
        this.logger.error({
          msg: 'Results not written to the Django cache',
          cache: this.config.RESULT_CACHE,
          results: batch.length,
          error: (error as Error).message,
        });
      }
      for (const pending of batch) pending.done();
    }
    this.draining = null;
  }

  /** Waits for the writes under way, as long as a task would, then closes the connections. */
  async onModuleDestroy(): Promise<void> {
    if (this.draining)
      await Promise.race([this.draining, sleep(this.config.RESULT_CACHE_TIMEOUT_MS, undefined, { ref: false })]);
    await this.store?.close();
  }
}

function storeOf(config: ResultCacheConfig): DjangoCacheStore {
  if (config.RESULT_CACHE === 'redis') return new RedisCacheStore(config.RESULT_CACHE_REDIS_URL!);
  return new DatabaseCacheStore(config.RESULT_CACHE_DATABASE_URL ?? config.DATABASE_URL, config.RESULT_CACHE_TABLE);
}
