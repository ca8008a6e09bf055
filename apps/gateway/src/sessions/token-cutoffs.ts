import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RevokedTokens } from '@app/auth';
import { SessionsConfig } from '@app/config';
import { TokenCutoffRepository } from '@app/persistence';

const HOUR_MS = 3600_000;
/** Rows committed out of order (a later `now()` first) are still read on the next sync. */
const SYNC_OVERLAP_MS = 60_000;

/**
 * "Log out everywhere" cut-offs, held in memory so a handshake or REST call asks no database:
 * loaded at start (the gateway does not start without them), told at once over the control
 * channel (`learn`), and read again every TOKEN_CUTOFF_SYNC_SECONDS for what a gateway away from
 * Redis missed. A token is refused when it was issued before its user's cut-off (a token without
 * `iat` counts as issued before any).
 */
@Injectable()
export class TokenCutoffs extends RevokedTokens implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TokenCutoffs.name);
  private readonly cutoffs = new Map<string, number>();
  private lastChange: Date | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly repository: TokenCutoffRepository,
    private readonly config: SessionsConfig,
  ) {
    super();
  }

  async onModuleInit(): Promise<void> {
    await this.prune();
    await this.sync();
    this.every(this.config.TOKEN_CUTOFF_SYNC_SECONDS * 1000, () => this.sync());
    this.every(HOUR_MS, () => this.prune());
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  isRevoked(userId: string, issuedAt: number | undefined): boolean {
    const cutoff = this.cutoffs.get(userId);
    return cutoff !== undefined && (issuedAt === undefined || issuedAt < cutoff);
  }

  /**
   * Refuses the user's tokens issued up to now. The cut-off is the next whole second: `iat` is in
   * whole seconds, so a token issued earlier in this very second is refused too.
   */
  async revoke(userId: string): Promise<number> {
    const cutoff = await this.repository.raise(userId, Math.floor(Date.now() / 1000) + 1);
    this.learn(userId, cutoff);
    return cutoff;
  }

  /** A cut-off another gateway stored (or this one read). */
  learn(userId: string, cutoff: number): void {
    if (cutoff > (this.cutoffs.get(userId) ?? 0)) this.cutoffs.set(userId, cutoff);
  }

  private async sync(): Promise<void> {
    const since = this.lastChange && new Date(this.lastChange.getTime() - SYNC_OVERLAP_MS);
    for (const { userId, cutoff, updatedAt } of await this.repository.changedSince(since)) {
      this.learn(userId, cutoff);
      if (!this.lastChange || updatedAt > this.lastChange) this.lastChange = updatedAt;
    }
  }

  private async prune(): Promise<void> {
    const before = new Date(Date.now() - this.config.TOKEN_CUTOFF_RETENTION_DAYS * 86400_000);
    await this.repository.prune(before);
    for (const [userId, cutoff] of this.cutoffs) if (cutoff * 1000 < before.getTime()) this.cutoffs.delete(userId);
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(
      () =>
        void task().catch((error: Error) =>
          this.logger.warn({ msg: 'Reading token cut-offs failed; trying again later', error: error.message }),
        ),
      ms,
    );
    timer.unref();
    this.timers.push(timer);
  }
}
