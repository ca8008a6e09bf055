import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Notification } from './notification.entity';
import { TaskOutcome, TaskResultRepository } from './task-result.repository';

export interface NewNotification {
  userId: string;
  taskId: string;
  message: unknown;
}

export interface InboxPage {
  /** Oldest first with `after`, newest first otherwise. */
  items: Notification[];
  hasMore: boolean;
}

export interface InboxQuery {
  after?: string;
  before?: string;
  unreadOnly: boolean;
  limit: number;
}

interface PendingWrite {
  input: NewNotification;
  outcomeFor: (notification: Notification) => TaskOutcome;
  resolve: (notification: Notification) => void;
  reject: (error: unknown) => void;
}

/** The most tasks one transaction takes (the worker's prefetch bounds how many wait anyway). */
const MAX_BATCH = 500;

const COLUMNS = `"id", "user_id" AS "userId", "task_id" AS "taskId", "message", "created_at" AS "createdAt", "read_at" AS "readAt"`;

/** Users' inboxes: every notification the worker delivered, and whether its user has read it. */
@Injectable()
export class NotificationRepository {
  private readonly pending: PendingWrite[] = [];
  private writing = false;

  constructor(
    @InjectRepository(Notification) private readonly rows: Repository<Notification>,
    private readonly results: TaskResultRepository,
  ) {}

  /**
   * Stores a task's notification and its result row in one transaction. A task stored before (a
   * redelivery) keeps its notification: the same one is returned and no second one is made.
   *
   * Group commit: calls that arrive while a transaction is being written wait and go together into
   * the next one, so under load one commit (one fsync) serves many tasks, and alone a task waits
   * for nobody. If a shared transaction fails, its tasks are retried one by one, so that one bad
   * row cannot fail the others.
   */
  storeWithResult(input: NewNotification, outcomeFor: (notification: Notification) => TaskOutcome): Promise<Notification> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, outcomeFor, resolve, reject });
      if (!this.writing) void this.writePending();
    });
  }

  private async writePending(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const stored = await this.store(batch);
        batch.forEach((write, index) => write.resolve(stored[index]));
      } catch (error) {
        if (batch.length === 1) batch[0].reject(error);
        else for (const write of batch) await this.store([write]).then(([stored]) => write.resolve(stored), write.reject);
      }
    }
    this.writing = false;
  }

  private store(batch: PendingWrite[]): Promise<Notification[]> {
    return this.rows.manager.transaction(async (manager) => {
      // One writer per user at a time, and ids drawn under that lock: a user's notifications commit
      // in id order, so a client that saw id N can never later miss one below N. Locks are taken in
      // one order (sorted) so that two workers' batches cannot deadlock. The locks are an aggregate
      // the insert's rows are joined to: no row (so no id) exists until every lock is held, and
      // one statement saves a round trip per batch.
      const users = [...new Set(batch.map((write) => write.input.userId))].sort();
      const inserted: Notification[] = await manager.query(
        `WITH "locked" AS (SELECT count(pg_advisory_xact_lock(hashtextextended(u, 0))) FROM (SELECT u FROM unnest($4::text[]) AS u ORDER BY u) AS "users")
         INSERT INTO "notification_inbox" ("user_id", "task_id", "message")
         SELECT u, t, m FROM "locked", unnest($1::varchar[], $2::varchar[], $3::json[]) WITH ORDINALITY AS x(u, t, m, n) ORDER BY n
         ON CONFLICT ("task_id") DO NOTHING RETURNING ${COLUMNS}`,
        [
          batch.map((write) => write.input.userId),
          batch.map((write) => write.input.taskId),
          batch.map((write) => JSON.stringify(write.input.message)),
          users,
        ],
      );
      const byTask = new Map(inserted.map((row) => [row.taskId, row]));
      const missing = batch.map((write) => write.input.taskId).filter((taskId) => !byTask.has(taskId));
      if (missing.length > 0) {
        const existing: Notification[] = await manager.query(`SELECT ${COLUMNS} FROM "notification_inbox" WHERE "task_id" = ANY($1)`, [missing]);
        for (const row of existing) byTask.set(row.taskId, row);
      }
      const stored = batch.map((write) => byTask.get(write.input.taskId)!);
      await this.results.recordMany(batch.map((write, index) => write.outcomeFor(stored[index])), manager);
      return stored;
    });
  }

  /** The user's notifications after `sinceId`, oldest first: what a reconnecting client missed. */
  after(userId: string, sinceId: string, limit: number): Promise<Notification[]> {
    return this.rows.query(`SELECT ${COLUMNS} FROM "notification_inbox" WHERE "user_id" = $1 AND "id" > $2 ORDER BY "id" LIMIT $3`, [
      userId,
      sinceId,
      limit,
    ]);
  }

  /** The id of the user's newest notification, or 0 when there is none. */
  async latestId(userId: string): Promise<number> {
    const [{ id }] = await this.rows.query(`SELECT coalesce(max("id"), 0)::bigint AS "id" FROM "notification_inbox" WHERE "user_id" = $1`, [userId]);
    return Number(id);
  }

  async list(userId: string, query: InboxQuery): Promise<InboxPage> {
    const conditions = ['"user_id" = $1'];
    const parameters: unknown[] = [userId];
    const where = (condition: string, value: unknown) => {
      parameters.push(value);
      conditions.push(condition.replace('?', `$${parameters.length}`));
    };
    if (query.after !== undefined) where('"id" > ?', query.after);
    if (query.before !== undefined) where('"id" < ?', query.before);
    if (query.unreadOnly) conditions.push('"read_at" IS NULL');
    parameters.push(query.limit + 1);
    const items: Notification[] = await this.rows.query(
      `SELECT ${COLUMNS} FROM "notification_inbox" WHERE ${conditions.join(' AND ')}
       ORDER BY "id" ${query.after !== undefined ? 'ASC' : 'DESC'} LIMIT $${parameters.length}`,
      parameters,
    );
    return { items: items.slice(0, query.limit), hasMore: items.length > query.limit };
  }

  async countUnread(userId: string): Promise<number> {
    const [{ count }] = await this.rows.query(`SELECT count(*)::int AS "count" FROM "notification_inbox" WHERE "user_id" = $1 AND "read_at" IS NULL`, [userId]);
    return count;
  }

  /** Marks the user's own notifications among `ids` read; returns those that were unread until now. */
  async markRead(userId: string, ids: string[]): Promise<string[]> {
    // TypeORM answers an UPDATE with [rows, affected count].
    const [updated]: [Array<{ id: string }>, number] = await this.rows.query(
      `UPDATE "notification_inbox" SET "read_at" = now() WHERE "user_id" = $1 AND "id" = ANY($2::bigint[]) AND "read_at" IS NULL RETURNING "id"`,
      [userId, ids],
    );
    return updated.map((row) => row.id).sort((a, b) => Number(a) - Number(b));
  }

  /** Marks everything the user has read; returns how many were unread. */
  async markAllRead(userId: string): Promise<number> {
    const [, count] = await this.rows.query(`UPDATE "notification_inbox" SET "read_at" = now() WHERE "user_id" = $1 AND "read_at" IS NULL`, [userId]);
    return count;
  }

  async findOwn(userId: string, id: string): Promise<Notification | null> {
    const [row] = await this.rows.query(`SELECT ${COLUMNS} FROM "notification_inbox" WHERE "user_id" = $1 AND "id" = $2`, [userId, id]);
    return row ?? null;
  }

  /** Deletes up to `batchSize` notifications created before `cutoff`; returns how many. */
  async deleteCreatedBefore(cutoff: Date, batchSize: number): Promise<number> {
    const [, count] = await this.rows.query(
      `DELETE FROM "notification_inbox" WHERE "id" IN (SELECT "id" FROM "notification_inbox" WHERE "created_at" < $1 ORDER BY "id" LIMIT $2)`,
      [cutoff, batchSize],
    );
    return count;
  }
}
