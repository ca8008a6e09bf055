import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { BroadcastConfig } from '@app/config';
import { BroadcastRepository } from '@app/persistence';

const BATCH_SIZE = 1000;
/** How often a pass runs: a tenth of the retention window, at most hourly. */
const MAX_INTERVAL_SECONDS = 3600;

/**
 * Deletes broadcasts older than BROADCAST_RETENTION_SECONDS, in batches. Gateways never send older
 * ones anyway (they read within the window): this only keeps the table small.
 */
@Injectable()
export class BroadcastRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(BroadcastRetentionService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly broadcasts: BroadcastRepository,
    private readonly config: BroadcastConfig,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = Math.min(MAX_INTERVAL_SECONDS, Math.ceil(this.config.BROADCAST_RETENTION_SECONDS / 10));
    this.timer = setInterval(() => void this.runOnce(), seconds * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: deletes every expired broadcast, batch by batch; returns how many. */
  runOnce(): Promise<number> {
    this.running ??= this.deleteExpired().finally(() => (this.running = null));
    return this.running;
  }

  private async deleteExpired(): Promise<number> {
    let total = 0;
    try {
      for (let deleted = BATCH_SIZE; deleted === BATCH_SIZE; total += deleted)
        deleted = await this.broadcasts.deleteOlderThan(this.config.BROADCAST_RETENTION_SECONDS, BATCH_SIZE);
      if (total > 0) this.logger.log({ msg: 'Deleted expired broadcasts', count: total });
    } catch (error) {
      this.logger.warn({
        msg: 'Broadcast retention pass failed; retrying next interval',
        error: (error as Error).message,
      });
    }
    return total;
  }
}
