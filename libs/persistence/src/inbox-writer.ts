import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { StoredNotification } from '@app/contracts';
import { DataSource } from 'typeorm';
import { ISO_CREATED_AT } from './iso-created-at';
import { TaskResultRepository, postgresText, resultUpsertFrom } from './task-result.repository';

export interface NewNotification {
  userId: string;
  taskId: string;
  /** The payload as JSON text: stored byte for byte, and compared so with a stored one. */
  messageJson: string;
}

/** What the SUCCESS row of a stored task says about the task; the rest is filled as Celery fills it. */
export interface SuccessRecord {
  taskName: string | null;
  taskArgs: string | null;
  taskKwargs: string | null;
  /** The same for every write of one process (it is sent once per statement). */
  worker: string;
  receivedAt: Date;
}

/** A notification in a user's inbox, as the worker frames it. */
export interface InboxRecord extends StoredNotification {
  id: string;
  seq: string;
  taskId: string;
  /** As `Date#toISOString` writes it. */
  createdAt: string;
  messageJson: string;
}

/**
 * What storing a task's notification came to:
 * - `stored`: its notification is in the inbox and its SUCCESS row is written. `redelivered` when
 *   the task had been stored before with the same user and message (the same notification again).
 * - `conflict`: the task id already holds another user's or another message's notification, or a
 *   broadcast. Nothing was written: what is stored and its result row belong to the task that came first.
 */
export type StoreResult =
  { status: 'stored'; notification: InboxRecord; redelivered: boolean } | { status: 'conflict'; taskId: string };

/**
 * The SUCCESS row's `result`: `{"notification_id": <id>, "group": "Notifications_<user>"}` as
 * `JSON.stringify` writes it. The statement below builds the same text in SQL (user ids hold no
 * character JSON escapes); the worker's integration spec compares the two.
 */
export function deliveryReportOf(notificationId: number, userId: string): string {
  return JSON.stringify({ notification_id: notificationId, group: `Notifications_${userId}` });
}

interface PendingWrite {
  notification: NewNotification;
  success: SuccessRecord;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

/** The most tasks one statement takes (the worker's prefetch bounds how many wait anyway). */
const MAX_BATCH = 500;

/**
 * One statement, in autocommit, for a whole batch (one round trip):
 * - `before`: the batch's task ids already stored, with their user and message text;
 * - `drawn`: each user's counter row, locked (in user order, so two workers' batches cannot
 *   deadlock) and moved on by that user's new notifications. `held` aggregates it, so every
 *   counter is locked before any inbox row (hence any id) exists: for each user, seq order, id
 *   order and commit order agree;
 * - `inserted`: the new notifications, in batch order. A task id stored by another statement after
 *   this one's snapshot is skipped by ON CONFLICT (a hole in that user's seqs, which readers treat
 *   as a gap they find nothing in) and comes back `missing`;
 * - `judged`: per task, `stored`, `redelivered` (same user and message), `conflict` (another
 *   notification, or a broadcast, holds the task id) or `missing`;
 * - the SUCCESS rows of the stored and redelivered tasks, built in SQL.
 */
function storeStatement(withDateStarted: boolean): string {
  return `
  WITH "input" AS (
    SELECT x->>0 AS u, x->>1 AS t, x->>2 AS m, x->>3 AS name, x->>4 AS args, x->>5 AS kwargs, (x->>6)::float8 AS received_ms, n
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, n)
  ), "before" AS (
    -- One index probe per task (LIMIT keeps the planner from a join that scans a small inbox).
    SELECT i."task_id", i."id", i."seq", i."user_id", i."created_at", i."message"
      FROM "input" AS x, LATERAL (
        SELECT "task_id", "id", "seq", "user_id", ${ISO_CREATED_AT} AS "created_at", "message"::text AS "message"
          FROM "notification_inbox" WHERE "task_id" = x.t LIMIT 1) AS i
  ), "broadcasts" AS (
    -- A task id that names a broadcast names nothing else (see BroadcastRepository).
    SELECT x.t FROM "input" AS x WHERE EXISTS (SELECT 1 FROM "broadcast" WHERE "task_id" = x.t)
  ), "fresh" AS (
    SELECT * FROM "input" WHERE t NOT IN (SELECT "task_id" FROM "before") AND t NOT IN (SELECT t FROM "broadcasts")
  ), "counts" AS (
    SELECT u, count(*) AS c FROM "fresh" GROUP BY u
  ), "drawn" AS (
    INSERT INTO "notification_sequence" AS s ("user_id", "last_seq") SELECT u, c FROM "counts" ORDER BY u
    ON CONFLICT ("user_id") DO UPDATE SET "last_seq" = s."last_seq" + EXCLUDED."last_seq"
    RETURNING "user_id", "last_seq"
  ), "held" AS (
    SELECT array_agg("user_id") AS users, array_agg("last_seq") AS lasts FROM "drawn"
  ), "inserted" AS (
    INSERT INTO "notification_inbox" ("user_id", "task_id", "message", "seq")
    SELECT f.u, f.t, f.m::json, d.last - c.c + row_number() OVER (PARTITION BY f.u ORDER BY f.n)
      FROM "held", unnest("held".users, "held".lasts) AS d(u, last)
      JOIN "fresh" AS f ON f.u = d.u JOIN "counts" AS c ON c.u = d.u
     ORDER BY f.n
    ON CONFLICT ("task_id") DO NOTHING
    RETURNING "id", "seq", "task_id", ${ISO_CREATED_AT} AS "created_at"
  ), "judged" AS (
    SELECT x.*, b."user_id" AS b_user, b."message" AS b_message, coalesce(i."id", b."id") AS id, coalesce(i."seq", b."seq") AS seq, coalesce(i."created_at", b."created_at") AS created_at,
           CASE WHEN i."id" IS NOT NULL THEN 'stored'
                WHEN x.t IN (SELECT t FROM "broadcasts") THEN 'conflict'
                WHEN b."id" IS NULL THEN 'missing'
                WHEN b."user_id" = x.u AND b."message" = x.m THEN 'redelivered'
                ELSE 'conflict' END AS outcome
      FROM "input" AS x LEFT JOIN "inserted" AS i ON i."task_id" = x.t LEFT JOIN "before" AS b ON b."task_id" = x.t
  ), "recorded" AS (
    ${resultUpsertFrom(
      `(SELECT t AS id, 'SUCCESS' AS status, '{"notification_id":' || id || ',"group":"Notifications_' || u || '"}' AS result,
               NULL::text AS traceback, args, kwargs, name, $2::varchar AS worker, to_timestamp(received_ms / 1000) AS created
          FROM "judged" WHERE outcome IN ('stored', 'redelivered')) AS y`,
      withDateStarted,
    )}
    RETURNING 1
  )
  SELECT coalesce(json_agg(json_build_array(outcome, id::text, seq::text, created_at,
           CASE WHEN outcome <> 'stored' THEN b_user END, CASE WHEN outcome <> 'stored' THEN b_message END) ORDER BY n), '[]')::text AS "results"
    FROM "judged"`;
}

/**
 * Stores each task's notification in its user's inbox together with the task's SUCCESS row,
 * atomically, and tells a redelivery (same task id, user and message) from a conflict (same task
 * id, anything else): a task id never makes one user's notification reach another.
 *
 * Group commit: calls that arrive while a statement is running wait and go together into the next
 * one, so under load one commit (one fsync) serves many tasks, and alone a task waits for nobody.
 * If a shared statement fails, its tasks are retried one by one, so that one bad row cannot fail
 * the others.
 */
@Injectable()
export class InboxWriter {
  private readonly pending: PendingWrite[] = [];
  private writing = false;
  private readonly statements = new Map<boolean, { name: string; text: string }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly results: TaskResultRepository,
  ) {}

  storeWithResult(notification: NewNotification, success: SuccessRecord): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ notification, success, resolve, reject });
      if (!this.writing) void this.writePending();
    });
  }

  private async writePending(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const results = await this.store(batch);
        batch.forEach((write, index) => write.resolve(results[index]));
      } catch (error) {
        if (batch.length === 1) batch[0].reject(error);
        else
          for (const write of batch) await this.store([write]).then(([result]) => write.resolve(result), write.reject);
      }
    }
    this.writing = false;
  }

  private async store(batch: PendingWrite[]): Promise<StoreResult[]> {
    // A task id given twice in a batch goes in once, as its first write.
    const firstOfTask = new Map<string, PendingWrite>();
    for (const write of batch)
      if (!firstOfTask.has(write.notification.taskId)) firstOfTask.set(write.notification.taskId, write);
    const firsts = [...firstOfTask.values()];
    // The batch goes as one JSON text and comes back as one: the driver's escaping of eight
    // arrays, and its parsing of a row object per task, were a fifth of the worker's garbage.
    const input = JSON.stringify(
      firsts.map(({ notification, success }) => [
        notification.userId,
        notification.taskId,
        notification.messageJson,
        postgresText(success.taskName),
        postgresText(success.taskArgs),
        postgresText(success.taskKwargs),
        success.receivedAt.getTime(),
      ]),
    );
    // One worker per process: sent once.
    const values = [input, postgresText(firsts[0].success.worker)];
    const { rows: answer } = await this.pool().query<{ results: string }>({ ...this.statement(), values });
    const rows = JSON.parse(answer[0].results) as StatementRow[];
    const rowOf = new Map(firsts.map((write, index) => [write, rows[index]]));
    return batch.map((write) => {
      const first = firstOfTask.get(write.notification.taskId)!;
      return judge(write, rowOf.get(first)!, first);
    });
  }

  /**
   * A named statement: each connection parses and plans it once, not once a batch (planning this
   * statement took about as long as running it for one task, which is what a batch holds at
   * 1,000 notifications a second).
   */
  private statement(): { name: string; text: string } {
    const withDateStarted = this.results.hasDateStarted;
    let statement = this.statements.get(withDateStarted);
    if (!statement) {
      statement = {
        name: `inbox-store-${withDateStarted ? 'started' : 'plain'}`,
        text: storeStatement(withDateStarted),
      };
      this.statements.set(withDateStarted, statement);
    }
    return statement;
  }

  /** TypeORM's connection pool (pg's): TypeORM's own `query` cannot send a named statement. */
  private pool(): { query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }> } {
    return (this.dataSource.driver as unknown as { master: ReturnType<InboxWriter['pool']> }).master;
  }
}

/**
 * What the statement says of one task: outcome, id, seq, created_at, and the user and message the
 * task id held before the statement (null when it inserted them).
 */
type StatementRow = [
  outcome: 'stored' | 'redelivered' | 'conflict' | 'missing',
  id: string,
  seq: string,
  createdAt: string,
  storedUser: string | null,
  storedMessage: string | null,
];

/** One write's result, from what the statement said of its task id (`first` is the batch's first write of that id). */
function judge(
  write: PendingWrite,
  [outcome, id, seq, createdAt, storedUser, storedMessage]: StatementRow,
  first: PendingWrite,
): StoreResult {
  const { taskId, userId, messageJson } = write.notification;
  // Neither inserted nor there before: stored by another worker meanwhile. Retried, it is judged.
  if (outcome === 'missing')
    throw new Error(`The inbox row of task ${taskId} was written by another worker meanwhile; try again`);
  const holds = outcome === 'stored' ? first.notification : { userId: storedUser, messageJson: storedMessage };
  if (holds.userId !== userId || holds.messageJson !== messageJson) return { status: 'conflict', taskId };
  const notification: InboxRecord = { id, seq, taskId, createdAt, messageJson };
  return { status: 'stored', notification, redelivered: outcome !== 'stored' || write !== first };
}
