import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RedisConfig, SessionsConfig } from '@app/config';
import { GatewayPresence, RedisFanout, RedisPresence, UserPresence } from '@app/fanout';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConnectionPresence } from './connection-presence';

const SHUTDOWN_REMOVE_MS = 1000;
/** How long a change waits for others to share its write. */
const WRITE_DELAY_MS = 20;

/**
 * This gateway's part in cluster-wide presence (`RedisPresence`): after connects and disconnects
 * it writes the users' socket counts there (at most one command each, batched), and every third of
 * PRESENCE_TTL_SECONDS it renews its entry, rewriting it whole when Redis lost it. Presence is
 * advisory: a failed write is logged and mended by the next heartbeat, never felt by a socket.
 */
@Injectable()
export class ClusterPresence implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ClusterPresence.name);
  /** Unique per process, so a restarted gateway starts from zero. */
  readonly gatewayId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly presence: RedisPresence;
  private readonly heartbeatMs: number;
  private timer: NodeJS.Timeout | null = null;
  private rewriteNeeded = true;
  /** Users whose socket count changed since the last write. */
  private readonly dirty = new Set<string>();
  private writeTimer: NodeJS.Timeout | null = null;
  /** The stream count last written to Redis; -1 before the first write. */
  private streamsWritten = -1;

  constructor(
    fanout: RedisFanout,
    redisConfig: RedisConfig,
    config: SessionsConfig,
    private readonly local: ConnectionPresence,
  ) {
    const ttlMs = config.PRESENCE_TTL_SECONDS * 1000;
    this.presence = new RedisPresence(fanout.commands, redisConfig.REDIS_CHANNEL_PREFIX, ttlMs);
    this.heartbeatMs = ttlMs / 3;
  }

  onModuleInit(): void {
    void this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Stops counting at once; if Redis does not answer within a second, the entry lapses by itself. */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.presence.remove(this.gatewayId).catch(() => undefined),
      new Promise((resolve) => (timeout = setTimeout(resolve, SHUTDOWN_REMOVE_MS))),
    ]);
    clearTimeout(timeout);
  }

  /**
   * The user's sockets here changed (a connect or a disconnect). Written within WRITE_DELAY_MS,
   * together with every other user whose sockets changed meanwhile: a storm of reconnects costs a
   * few commands, not one per socket.
   */
  changed(userId: string): void {
    this.dirty.add(userId);
    this.writeTimer ??= setTimeout(() => this.writeChanges(), WRITE_DELAY_MS);
  }

  private writeChanges(): void {
    this.writeTimer = null;
    const counts = new Map([...this.dirty].map((userId) => [userId, this.local.socketsOf(userId)]));
    this.dirty.clear();
    this.presence.write(this.gatewayId, counts).catch((error: Error) => {
      this.rewriteNeeded = true;
      this.logger.warn({ msg: 'Presence write failed; the next heartbeat rewrites it', error: error.message });
    });
    if (this.local.streamCount !== this.streamsWritten) void this.writeStreams();
  }

  private async writeStreams(): Promise<void> {
    const streams = this.local.streamCount;
    try {
      await this.presence.writeStreams(this.gatewayId, streams);
      this.streamsWritten = streams;
    } catch (error) {
      this.streamsWritten = -1;
      this.logger.warn({ msg: 'Writing the stream count failed', error: (error as Error).message });
    }
  }

  lookup(userIds: string[]): Promise<UserPresence[]> {
    return this.presence.lookup(userIds);
  }

  gateways(): Promise<GatewayPresence[]> {
    return this.presence.gateways();
  }

  private async heartbeat(): Promise<void> {
    try {
      if (this.rewriteNeeded || !(await this.presence.heartbeat(this.gatewayId, this.local.userCount))) {
        this.rewriteNeeded = false;
        await this.presence.rewrite(this.gatewayId, this.local.socketCounts());
        await this.writeStreams();
      }
    } catch (error) {
      this.rewriteNeeded = true;
      this.logger.warn({ msg: 'Presence heartbeat failed', error: (error as Error).message });
    }
  }
}
