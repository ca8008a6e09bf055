import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ResultCleanupConfig } from '@app/config';
import { TaskResultCleaner } from '@app/persistence';

/**
 * Celery's `backend_cleanup` for this worker: when `RESULT_EXPIRES_SECONDS` is set, deletes the
 * results done longer ago than that, at start-up and then every `RESULT_CLEANUP_INTERVAL_SECONDS`.
 * Off by default, as django-celery-results keeps results until something deletes them. Every
 * worker runs it; the cleaner's batches skip rows another worker has locked, so they never clash.
 */
@Injectable()
export class ResultCleanupScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ResultCleanupScheduler.name);
  private readonly stop = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly cleaner: TaskResultCleaner,
    private readonly config: ResultCleanupConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.RESULT_EXPIRES_SECONDS === 0) return;
    this.schedule(0);
  }

  /** Stops the schedule and waits for a sweep in progress, which stops after its current batch. */
  async onModuleDestroy(): Promise<void> {
    this.stop.abort();
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sweep().finally(() => {
        if (!this.stop.signal.aborted) this.schedule(this.config.RESULT_CLEANUP_INTERVAL_SECONDS * 1000);
      });
    }, delayMs);
    // The schedule alone must not keep a closing worker alive.
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    const cutoff = new Date(Date.now() - this.config.RESULT_EXPIRES_SECONDS * 1000);
    try {
      const deleted = await this.cleaner.deleteDoneBefore(
        cutoff,
        this.config.RESULT_CLEANUP_BATCH_SIZE,
        this.stop.signal,
      );
      if (deleted > 0) this.logger.log(`Deleted ${deleted} task results done before ${cutoff.toISOString()}`);
    } catch (error) {
      // Postgres down: the next sweep tries again; the results only wait a little longer.
      this.logger.warn(`Result cleanup failed: ${(error as Error).message}`);
    }
  }
}
