import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InboxRetentionConfig } from '@app/config';
import { NotificationRepository } from '@app/persistence';

const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH_SIZE = 1000;

/**
 * Deletes notifications older than NOTIFICATION_RETENTION_DAYS (0: keep them all), in small
 * batches so that no statement holds locks on many rows or runs for long.
 */
@Injectable()
export class InboxRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InboxRetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly inbox: NotificationRepository,
    private readonly config: InboxRetentionConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.NOTIFICATION_RETENTION_DAYS === 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.config.NOTIFICATION_RETENTION_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: deletes every expired notification, batch by batch; returns how many. */
  runOnce(now = new Date()): Promise<number> {
    this.running ??= this.deleteExpired(now).finally(() => (this.running = null));
    return this.running;
  }

  private async deleteExpired(now: Date): Promise<number> {
    // 0 keeps everything: checked here, where the deletion happens, not only by the timer.
    if (this.config.NOTIFICATION_RETENTION_DAYS === 0) return 0;
    const cutoff = new Date(now.getTime() - this.config.NOTIFICATION_RETENTION_DAYS * DAY_MS);
    let total = 0;
    try {
      const lastExpired = await this.inbox.lastIdCreatedBefore(cutoff);
      for (let deleted = BATCH_SIZE; lastExpired > 0 && deleted === BATCH_SIZE; total += deleted) {
        deleted = await this.inbox.deleteUpTo(lastExpired, BATCH_SIZE);
      }
      if (total > 0) this.logger.log({ msg: 'Deleted expired notifications', count: total, cutoff });
    } catch (error) {
      this.logger.warn({
        msg: 'Notification retention pass failed; retrying next interval',
        error: (error as Error).message,
      });
    }
    return total;
  }
}
