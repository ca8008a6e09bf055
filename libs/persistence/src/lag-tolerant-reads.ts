import { Logger, OnModuleDestroy } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { DataSource, DataSourceOptions } from 'typeorm';
import type { MetricsRegistry } from '@app/metrics';
import { dataSourceOptions } from './data-source-options';

/** How long a replica that failed stays out of use before it is tried again. */
const RETRY_AFTER_MS = 5000;
/** A replica that cannot be reached must not hold a read for the OS's TCP timeout. */
const CONNECT_TIMEOUT_MS = 3000;

/** Which server answered a lag-tolerant read, when a replica is configured. */
type ServedBy = 'replica' | 'primary_after_replica_error' | 'primary_while_replica_backs_off';

/**
 * Where the reads that tolerate a little lag go (inbox listing, the REST unread count, the admin
 * task API, the dashboard): the streaming replica of DATABASE_REPLICA_URL when it is set, else the
 * primary. Never for resume, catch-up, read receipts or the worker, which must see what was just
 * committed: a replica replays the primary's WAL a moment later (longer when it is busy).
 *
 * The replica is connected on first use, so a process that never reads this way (the worker)
 * holds no pool on it. A read the replica fails is made again on the primary and the replica is
 * left alone for a few seconds: a replica that is down or restarting costs the primary some load,
 * never an answer. `notify_lag_tolerant_reads_total` counts which server answered, so the
 * primary's extra load from a failing replica shows on a dashboard rather than only in the logs.
 */
export class LagTolerantReads implements OnModuleDestroy {
  private readonly logger = new Logger(LagTolerantReads.name);
  private readonly reads?: Counter<'served_by'>;
  private replica: Promise<DataSource> | null = null;
  private failedAt = -Infinity;

  constructor(
    private readonly primary: DataSource,
    private readonly replicaUrl: string | undefined,
    private readonly poolSize?: number,
    metrics?: MetricsRegistry,
  ) {
    if (replicaUrl === undefined) return;
    this.reads = metrics?.counter({
      name: 'notify_lag_tolerant_reads_total',
      help: 'Reads that tolerate lag, by the server that answered: the replica, or the primary in its place',
      labelNames: ['served_by'],
    });
  }

  async run<T>(read: (source: DataSource) => Promise<T>): Promise<T> {
    if (this.replicaUrl === undefined) return read(this.primary);
    if (Date.now() - this.failedAt < RETRY_AFTER_MS)
      return this.served('primary_while_replica_backs_off', read(this.primary));
    try {
      return await this.served('replica', read(await this.connected()));
    } catch (error) {
      this.failedAt = Date.now();
      this.logger.warn({
        msg: 'Replica read failed; reading from the primary, replica retried in a few seconds',
        error: (error as Error).message,
      });
      return this.served('primary_after_replica_error', read(this.primary));
    }
  }

  async onModuleDestroy(): Promise<void> {
    const replica = await this.replica?.catch(() => null);
    if (replica?.isInitialized) await replica.destroy();
  }

  private async served<T>(by: ServedBy, answer: Promise<T>): Promise<T> {
    const value = await answer;
    this.reads?.inc({ served_by: by });
    return value;
  }

  /** The replica's data source, connected once however many reads ask for it at the same time. */
  private connected(): Promise<DataSource> {
    this.replica ??= new DataSource({
      ...dataSourceOptions(this.replicaUrl!, this.poolSize),
      migrations: [],
      connectTimeoutMS: CONNECT_TIMEOUT_MS,
    } as DataSourceOptions)
      .initialize()
      .catch((error: Error) => {
        this.replica = null;
        throw error;
      });
    return this.replica;
  }
}
