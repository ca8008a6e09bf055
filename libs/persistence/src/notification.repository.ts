import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { StoredNotification } from '@app/contracts';
import { ISO_CREATED_AT } from './iso-created-at';
import { LagTolerantReads } from './lag-tolerant-reads';
import { Notification } from './notification.entity';

/** A place in a user's inbox: the newest notification's id and seq seen or sent. */
export interface InboxPosition {
  id: number;
  seq: number;
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

const COLUMNS = `"id", "seq", "user_id" AS "userId", "task_id" AS "taskId", "message", "created_at" AS "createdAt", "read_at" AS "readAt"`;

const FRAME_COLUMNS = `"id", "seq", "task_id" AS "taskId", ${ISO_CREATED_AT} AS "createdAt", "message"::text AS "messageJson"`;

/** The user's newest id and last seq, in one snapshot, reading only the partitions it needs (migration 1764922600000). */
const END_OF_INBOX = `end_id AS "endId", end_seq AS "endSeq" FROM "notification_inbox_end"($1)`;

/**
 * Users' inboxes: every notification the worker delivered, and whether its user has read it.
 * `list` and `countUnread(…, { mayLag: true })` may read a replica (`LagTolerantReads`); everything
 * else reads the primary.
 */
@Injectable()
export class NotificationRepository {
  constructor(
    @InjectRepository(Notification) private readonly rows: Repository<Notification>,
    private readonly lagTolerant: LagTolerantReads,
  ) {}

  /**
   * Where the user's inbox ends now: the newest id and the last seq drawn (0 and 0 for a user with
   * none). Read in one statement, so the two agree.
   */
  async position(userId: string): Promise<InboxPosition> {
    const [row] = await this.rows.query(`SELECT ${END_OF_INBOX}`, [userId]);
    return { id: Number(row.endId), seq: Number(row.endSeq) };
  }

  /**
   * The start of a catch-up: where the inbox ends now (`end`), and the first `limit` notifications
   * after `afterId` up to that end, oldest first, read in one snapshot. A user's ids and seqs are
   * drawn in commit order, so every notification committed later comes after `end`.
   */
  async catchUpFrom(
    userId: string,
    afterId: number,
    limit: number,
  ): Promise<{ end: InboxPosition; rows: StoredNotification[] }> {
    const found: Array<Partial<StoredNotification> & { endId: string; endSeq: string }> = await this.rows.query(
      `WITH "end" AS MATERIALIZED (SELECT ${END_OF_INBOX})
       SELECT "end".*, r.* FROM "end" LEFT JOIN LATERAL (
         SELECT ${FRAME_COLUMNS} FROM "notification_inbox"
          WHERE "user_id" = $1 AND "id" > $2 AND "id" <= "end"."endId" ORDER BY "id" LIMIT $3) AS r ON true`,
      [userId, afterId, limit],
    );
    const end = { id: Number(found[0].endId), seq: Number(found[0].endSeq) };
    return { end, rows: found.filter((row) => row.id !== null && row.id !== undefined) as StoredNotification[] };
  }

  /** The user's notifications after `afterId` up to `upToId`, oldest first, framed as stored. */
  between(userId: string, afterId: number, upToId: number, limit: number): Promise<StoredNotification[]> {
    return this.rows.query(
      `SELECT ${FRAME_COLUMNS} FROM "notification_inbox" WHERE "user_id" = $1 AND "id" > $2 AND "id" <= $3 ORDER BY "id" LIMIT $4`,
      [userId, afterId, upToId, limit],
    );
  }

  /** How many of the user's notifications lie after `afterId` up to `upToId`, counting no further than `limit`. */
  async countBetween(userId: string, afterId: number, upToId: number, limit: number): Promise<number> {
    const [{ count }] = await this.rows.query(
      `SELECT count(*)::int AS "count" FROM (SELECT 1 FROM "notification_inbox" WHERE "user_id" = $1 AND "id" > $2 AND "id" <= $3 LIMIT $4) AS x`,
      [userId, afterId, upToId, limit],
    );
    return count;
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
    const items: Notification[] = await this.lagTolerant.run((db) =>
      db.query(
        `SELECT ${COLUMNS} FROM "notification_inbox" WHERE ${conditions.join(' AND ')}
         ORDER BY "id" ${query.after !== undefined ? 'ASC' : 'DESC'} LIMIT $${parameters.length}`,
        parameters,
      ),
    );
    return { items: items.slice(0, query.limit), hasMore: items.length > query.limit };
  }

  /** `mayLag`: the count may miss the last moment's writes (a replica's), as a badge can. */
  async countUnread(userId: string, { mayLag = false } = {}): Promise<number> {
    const sql = `SELECT count(*)::int AS "count" FROM "notification_inbox" WHERE "user_id" = $1 AND "read_at" IS NULL`;
    const [{ count }] = mayLag
      ? await this.lagTolerant.run((db) => db.query(sql, [userId]))
      : await this.rows.query(sql, [userId]);
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
    const [, count] = await this.rows.query(
      `UPDATE "notification_inbox" SET "read_at" = now() WHERE "user_id" = $1 AND "read_at" IS NULL`,
      [userId],
    );
    return count;
  }

  /** Whether a notification is stored under this task id. */
  async holdsTask(taskId: string): Promise<boolean> {
    const rows = await this.rows.query(`SELECT 1 FROM "notification_inbox" WHERE "task_id" = $1`, [taskId]);
    return rows.length > 0;
  }

  async findOwn(userId: string, id: string): Promise<Notification | null> {
    const [row] = await this.rows.query(
      `SELECT ${COLUMNS} FROM "notification_inbox" WHERE "user_id" = $1 AND "id" = $2`,
      [userId, id],
    );
    return row ?? null;
  }

  /**
   * The newest notification id created before `cutoff`, or 0. Ids grow with time (drawn as rows
   * are inserted), so it is found by bisecting the primary key, about 40 index lookups, with no
   * index on `created_at` that every insert would have to maintain. Two statements running at
   * once may draw ids a few milliseconds out of `created_at` order: the cut-off is that exact.
   */
  async lastIdCreatedBefore(cutoff: Date): Promise<number> {
    const [bounds] = await this.rows.query(
      `SELECT min("id")::bigint AS "min", max("id")::bigint AS "max" FROM "notification_inbox"`,
    );
    if (bounds.min === null) return 0;
    const firstFrom = async (id: number): Promise<{ id: number; createdAt: Date } | undefined> => {
      const [row] = await this.rows.query(
        `SELECT "id"::bigint AS "id", "created_at" AS "createdAt" FROM "notification_inbox" WHERE "id" >= $1 ORDER BY "id" LIMIT 1`,
        [id],
      );
      return row && { id: Number(row.id), createdAt: row.createdAt };
    };
    // Every row up to lo was created before the cut-off, every row from hi on at or after it.
    let lo = Number(bounds.min) - 1;
    let hi = Number(bounds.max) + 1;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const row = await firstFrom(mid);
      if (!row || row.id >= hi) hi = mid;
      else if (row.createdAt < cutoff) lo = row.id;
      else hi = row.id;
    }
    return lo >= Number(bounds.min) ? lo : 0;
  }
}
