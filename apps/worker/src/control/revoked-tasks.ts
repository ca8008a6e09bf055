import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import { RevokedTaskRepository } from '@app/persistence';

/** How often the revokes other workers stored are read again (they also reach this one by broadcast). */
const REFRESH_MS = 2000;
/** A revoke committed this long before a read began is certain to be seen by it. */
const COMMIT_SLACK_MS = 10_000;
/** Expired revokes are deleted from Postgres every this many refreshes (about 5 minutes). */
const PURGE_EVERY = 150;

/**
 * The task ids revoked with Celery's `revoke`, kept in Postgres (`revoked_task`) so that every
 * worker honours them, including one that was down during the broadcast or started later, and
 * cached here: `isRevoked` is asked once per task, and answers from memory once the first read is
 * done (before it, it waits for it: a worker never runs a task before it knows the revokes).
 */
@Injectable()
export class RevokedTasks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RevokedTasks.name);
  private readonly revoked = new Map<string, number>();
  private lastRead: Date | null = null;
  private firstRead: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private refreshes = 0;

  constructor(
    private readonly store: RevokedTaskRepository,
    private readonly config: CeleryNodeConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error: Error) =>
        this.logger.warn({ msg: 'Reading revoked tasks failed', error: error.message }),
      );
    }, REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Revokes the ids on every worker: stored, then honoured here at once. */
  async revoke(taskIds: readonly string[]): Promise<void> {
    const expiresAt = Date.now() + this.config.CELERY_REVOKE_EXPIRES_SECONDS * 1000;
    for (const taskId of taskIds) this.revoked.set(taskId, Math.max(expiresAt, this.revoked.get(taskId) ?? 0));
    await this.store.revoke(taskIds, new Date(expiresAt), this.config.CELERY_REVOKE_EXPIRES_SECONDS);
  }

  /** Throws while the revokes cannot be read yet (Postgres down at start-up): the task is retried. */
  async isRevoked(taskId: string): Promise<boolean> {
    await this.ensureRead();
    const expiresAt = this.revoked.get(taskId);
    return expiresAt !== undefined && expiresAt > Date.now();
  }

  /** The unexpired revoked ids (Celery's `inspect revoked`). */
  list(): string[] {
    const now = Date.now();
    return [...this.revoked].filter(([, expiresAt]) => expiresAt > now).map(([taskId]) => taskId);
  }

  private ensureRead(): Promise<void> {
    this.firstRead ??= this.refresh().catch((error: unknown) => {
      this.firstRead = null;
      throw error;
    });
    return this.firstRead;
  }

  private async refresh(): Promise<void> {
    const since = this.lastRead && new Date(this.lastRead.getTime() - COMMIT_SLACK_MS);
    const { revoked, readAt } = await this.store.readSince(since);
    for (const { taskId, expiresAt } of revoked)
      this.revoked.set(taskId, Math.max(new Date(expiresAt).getTime(), this.revoked.get(taskId) ?? 0));
    this.lastRead = new Date(readAt);
    if (++this.refreshes % PURGE_EVERY === 0) await this.store.deleteExpired();
    const now = Date.now();
    for (const [taskId, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(taskId);
  }
}
