import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InboxPartitionsConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { InboxPartitions, NotificationRepository } from '@app/persistence';
import type { InboxPartitionSession } from '@app/persistence';
import { partitionSpan, partitionsToCreate } from './inbox-partition-plan';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface MaintenanceReport {
  created: string[];
  dropped: string[];
}

/**
 * Keeps the inbox's partitions (ranges of ids, see the migration PartitionInboxById) open ahead of
 * the ids to come, sized from the recent rate, and drops each partition whose newest notification
 * is older than NOTIFICATION_RETENTION_DAYS (0: none), oldest first, never the one ids go to now.
 * On start and every NOTIFICATION_RETENTION_INTERVAL_SECONDS, by one worker at a time.
 */
@Injectable()
export class InboxPartitionMaintainer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(InboxPartitionMaintainer.name);
  private readonly partitionCount;
  private readonly idsAhead;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<MaintenanceReport | null> | null = null;

  constructor(
    private readonly partitions: InboxPartitions,
    private readonly inbox: NotificationRepository,
    private readonly config: InboxPartitionsConfig,
    metrics: MetricsRegistry,
  ) {
    this.partitionCount = metrics.gauge({
      name: 'notify_inbox_partitions',
      help: 'Partitions of the inbox, as the last maintenance pass of this worker left them',
    });
    this.idsAhead = metrics.gauge({
      name: 'notify_inbox_partition_ids_ahead',
      help: 'Ids left in the inbox partitions after the last one drawn; inserts fail at 0',
    });
  }

  onApplicationBootstrap(): void {
    // Partitions must be opened ahead even when nothing is ever dropped.
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.config.NOTIFICATION_RETENTION_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass; null when another worker is making one or it failed (it is retried next interval). */
  runOnce(now = new Date()): Promise<MaintenanceReport | null> {
    this.running ??= this.maintain(now).finally(() => (this.running = null));
    return this.running;
  }

  private async maintain(now: Date): Promise<MaintenanceReport | null> {
    try {
      const report = await this.partitions.maintain(async (session) => {
        const lastId = await session.lastId();
        const span = await this.span(lastId, now);
        const created: string[] = [];
        for (const { from, to } of partitionsToCreate(await session.list(), lastId, span)) {
          created.push(await session.create(from, to));
        }
        const dropped = await this.dropExpired(session, lastId, now);
        const partitions = await session.list();
        this.partitionCount.set(partitions.length);
        this.idsAhead.set(Math.max(0, (partitions.at(-1)?.to ?? 0) - lastId - 1));
        return { created, dropped, span };
      });
      if (report && (report.created.length || report.dropped.length)) {
        this.logger.log({ msg: 'Inbox partitions maintained', ...report });
      }
      return report && { created: report.created, dropped: report.dropped };
    } catch (error) {
      this.logger.warn({
        msg: 'Inbox partition maintenance failed; retrying next interval',
        error: (error as Error).message,
      });
      return null;
    }
  }

  /** From the ids drawn in the last period and in the last interval (a bisection of the ids each). */
  private async span(lastId: number, now: Date): Promise<number> {
    const periodMs = this.config.NOTIFICATION_PARTITION_HOURS * HOUR_MS;
    const intervalMs = this.config.NOTIFICATION_RETENTION_INTERVAL_SECONDS * 1000;
    const idsSince = async (ms: number) =>
      lastId - (await this.inbox.lastIdCreatedBefore(new Date(now.getTime() - ms)));
    return partitionSpan({
      idsInLastPeriod: await idsSince(periodMs),
      idsInLastInterval: await idsSince(intervalMs),
      periodMs,
      intervalMs,
    });
  }

  private async dropExpired(session: InboxPartitionSession, lastId: number, now: Date): Promise<string[]> {
    if (this.config.NOTIFICATION_RETENTION_DAYS === 0) return [];
    const cutoff = new Date(now.getTime() - this.config.NOTIFICATION_RETENTION_DAYS * DAY_MS);
    const dropped: string[] = [];
    for (const partition of await session.list()) {
      if (partition.to > lastId) break; // the next ids go here or beyond
      const newest = await session.newestCreatedAt(partition);
      if (newest !== null && newest >= cutoff) break;
      await session.drop(partition);
      dropped.push(partition.name);
    }
    return dropped;
  }
}
