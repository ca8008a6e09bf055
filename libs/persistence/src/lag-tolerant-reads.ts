import { Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** How long a replica that failed stays out of use before it is tried again. */
const RETRY_AFTER_MS = 5000;
/** A replica that cannot be reached must not hold a read for the OS's TCP timeout. */
const CONNECT_TIMEOUT_MS = 3000;

/**
 * Where the reads that tolerate a little lag go (inbox listing, the REST unread count, the admin
 * task API, the dashboard): the streaming replica of DATABASE_REPLICA_URL when it is set, else the
 * primary. Never for resume, catch-up, read receipts or the worker, which must see what was just
 * committed: a replica replays the primary's WAL a moment later (longer when it is busy).
 *
 * The replica is connected on first use, so a process that never reads this way (the worker)
 * holds no pool on it. A read the replica fails is made again on the primary and the replica is
 * left alone for a few seconds: a replica that is down or restarting costs the primary some load,
 * never an answer.
 */
export class LagTolerantReads implements OnModuleDestroy {
  private readonly logger = new Logger(LagTolerantReads.name);
  private replica: Promise<DataSource> | null = null;
  private failedAt = -Infinity;

  constructor(
    private readonly primary: DataSource,
    private readonly replicaUrl: string | undefined,
    private readonly poolSize?: number,
  ) {}

  async run<T>(read: (source: DataSource) => Promise<T>): Promise<T> {
    if (this.replicaUrl === undefined || Date.now() - this.failedAt < RETRY_AFTER_MS) return read(this.primary);
    try {
      return await read(await this.connected());
    } catch (error) {
      this.failedAt = Date.now();
      this.logger.warn({
        msg: 'Replica read failed; reading from the primary, replica retried in a few seconds',
        error: (error as Error).message,
      });
      return read(this.primary);
    }
  }

  async onModuleDestroy(): Promise<void> {
    const replica = await this.replica?.catch(() => null);
    if (replica?.isInitialized) await replica.destroy();
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
