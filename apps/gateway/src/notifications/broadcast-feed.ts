import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { BroadcastConfig } from '@app/config';
import { broadcastFrameOf, readBroadcastId } from '@app/contracts';
import type { StoredBroadcast } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { BroadcastRepository } from '@app/persistence';
import type { BroadcastSource } from './client-connection';
import { GroupSubscriptions } from './group-subscriptions';

/** Broadcast ids this gateway remembers having routed, so a frame published twice is routed once. */
const REMEMBERED_IDS = 1024;
/** The most broadcasts read back after this gateway lost Redis. */
const OUTAGE_READ_LIMIT = 1000;

/**
 * This gateway's end of the broadcast channel: every broadcast frame goes to every connection,
 * once (a worker publishes a redelivered task's frame again); what was published while the
 * subscriber was away from Redis is read back from Postgres. It also answers where broadcasts
 * stand now (the `connected` frame's `last_broadcast_id`) and what a resuming connection missed.
 */
@Injectable()
export class BroadcastFeed implements OnModuleInit, BroadcastSource {
  private readonly logger = new Logger(BroadcastFeed.name);
  /** Oldest first (a Set keeps insertion order). */
  private readonly routed = new Set<number>();
  /** The newest broadcast id this gateway knows of; null until read or routed. */
  private newest: number | null = null;

  constructor(
    private readonly fanout: RedisFanout,
    private readonly repository: BroadcastRepository,
    private readonly groups: GroupSubscriptions,
    private readonly config: BroadcastConfig,
  ) {}

  onModuleInit(): void {
    this.fanout.listenBroadcasts((frame) => this.route(frame));
    this.fanout.onReconnect(() => void this.readMissedDuringOutage());
  }

  /**
   * Where a connection that asks for no backlog starts: the newest broadcast known. Read from
   * Postgres until one has been routed; throws when Postgres is unreachable then.
   */
  async newestId(): Promise<number> {
    if (this.newest !== null) return this.newest;
    const latest = await this.repository.latestId();
    // A broadcast may have been routed meanwhile.
    this.newest = Math.max(this.newest ?? 0, latest);
    return this.newest;
  }

  missedAfter(afterId: number, limit: number): Promise<StoredBroadcast[]> {
    return this.repository.after(afterId, this.config.BROADCAST_RETENTION_SECONDS, limit);
  }

  private route(frame: Buffer): void {
    const id = readBroadcastId(frame);
    if (id === null) {
      this.logger.warn('A frame on the broadcast channel is no broadcast frame; dropped');
      return;
    }
    if (this.routed.has(id)) return;
    this.routed.add(id);
    if (this.routed.size > REMEMBERED_IDS) this.routed.delete(this.routed.values().next().value!);
    this.newest = Math.max(this.newest ?? 0, id);
    this.groups.deliverBroadcast(frame, id);
  }

  /** From the oldest id remembered: a publisher's frame may come after a later id's. */
  private async readMissedDuringOutage(): Promise<void> {
    const oldest = this.routed.values().next().value;
    const after = oldest === undefined ? (this.newest ?? 0) : oldest - 1;
    try {
      const missed = await this.missedAfter(after, OUTAGE_READ_LIMIT);
      for (const broadcast of missed) this.route(Buffer.from(broadcastFrameOf(broadcast)));
    } catch (error) {
      this.logger.warn({
        msg: 'Reading the broadcasts missed during a Redis outage failed; clients get them when they resume',
        error: (error as Error).message,
      });
    }
  }
}
