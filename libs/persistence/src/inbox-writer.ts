import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { StoredNotification } from '@app/contracts';
import { DataSource } from 'typeorm';
import { ISO_CREATED_AT } from './iso-created-at';
import { TaskResultRepository, postgresText, resultUpsertFrom } from './task-result.repository';

export interface NewNotification {
  /** The users it goes to, none twice: one inbox row each, in this order. */
  userIds: string[];
  /** True when the task named its users as a list: its result is `recipientsReportOf`, not `deliveryReportOf`. */
  listsRecipients: boolean;
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
 * - `stored`: its notifications are in the inbox (`notifications[i]` is `userIds[i]`'s) and its
 *   SUCCESS row is written. `redelivered` when the task had been stored before with the same users
 *   and message (the same notifications again).
 * - `conflict`: the task id already holds another message's notifications, another list of
 *   users, or a broadcast. Nothing was written: the stored notifications and the result row belong
 *   to the task that came first.
 */
export type StoreResult =
  { status: 'stored'; notifications: InboxRecord[]; redelivered: boolean } | { status: 'conflict'; taskId: string };

/**
 * The SUCCESS row's `result` of a task for one user (`user_id`):
 * `{"notification_id": <id>, "group": "Notifications_<user>"}` as `JSON.stringify` writes it. The
 * statement below builds the same text in SQL (user ids hold no character JSON escapes); the
 * worker's integration spec compares the two.
 */
export function deliveryReportOf(notificationId: number, userId: string): string {
  return JSON.stringify({ notification_id: notificationId, group: `Notifications_${userId}` });
}

/** The most groups a list task's result names; a longer list is summed up by `more`. */
const MAX_REPORTED_GROUPS = 10;

/**
 * The SUCCESS row's `result` of a task for a list of users (`user_ids`): how many, and their
 * groups, the first `MAX_REPORTED_GROUPS` of them with `more` counting the rest, so that a task to
 * 1,000 users has a result of a few hundred bytes.
 */
export function recipientsReportOf(userIds: string[]): { count: number; groups: string[]; more?: number } {
  const groups = userIds.slice(0, MAX_REPORTED_GROUPS).map((userId) => `Notifications_${userId}`);
  const more = userIds.length - groups.length;
  return more > 0 ? { count: userIds.length, groups, more } : { count: userIds.length, groups };
}

interface PendingWrite {
  notification: NewNotification;
  success: SuccessRecord;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

/** The most tasks one statement takes (the worker's prefetch bounds how many wait anyway). */
const MAX_BATCH = 500;

/** More rows than any task holds (MAX_RECIPIENTS is at most 10,000). */
const MAX_ROWS_PER_TASK = 10_001;

/**
 * One statement, in autocommit, for a whole batch (one round trip). `task` is one element per task,
 * `input` one per (task, user), `k` the user's place in the task's list.
 * - `before`: the rows the batch's task ids already hold, with their user and message text;
 * - `drawn`: each user's counter row, locked (in user order, so two workers' batches cannot
 *   deadlock) and moved on by that user's new notifications. `held` aggregates it, so every
 *   counter is locked before any inbox row (hence any id) exists: for each user, seq order, id
 *   order and commit order agree (a batch never holds one user both in a head and in a tail:
 *   a task for several users goes in a statement of its own);
 * - `heads`: each new task's first row (`recipient_index` 0, unique per task id). A task id stored by
 *   another statement after this one's snapshot is skipped here (a hole in that user's seqs, which
 *   readers treat as a gap they find nothing in) and its task comes back `missing`;
 * - `tails`: the other users' rows, only for the tasks whose head this statement inserted, so two
 *   workers storing different lists under one task id cannot both write part of it (their ids
 *   follow the list's order too);
 * - `judged`: per task, `stored`, `redelivered` (the same users in the same order, the same
 *   message, no user more or fewer: the same message again), `conflict` (another message, another
 *   list, or a broadcast holds the task id) or `missing`;
 * - the SUCCESS rows of the stored and redelivered tasks, their result built in SQL for one user.
 */
function storeStatement(withDateStarted: boolean): string {
  return `
  WITH "task" AS (
    SELECT x->>0 AS t, x->>1 AS m, x->>2 AS name, x->>3 AS args, x->>4 AS kwargs, (x->>5)::float8 AS received_ms, x->>6 AS report, x->7 AS users, n
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, n)
  ), "input" AS (
    SELECT r.u, x.t, x.m, x.n, r.k FROM "task" AS x, jsonb_array_elements_text(x.users) WITH ORDINALITY AS r(u, k)
  ), "before" AS (
    -- Index probes per task: the LIMIT (above any MAX_RECIPIENTS) keeps the planner from
    -- flattening this into a join that scans the inbox.
    SELECT i.* FROM "task" AS x, LATERAL (
      SELECT "task_id", "id", "seq", "user_id", "recipient_index", ${ISO_CREATED_AT} AS "created_at", "message"::text AS "message"
        FROM "notification_inbox" WHERE "task_id" = x.t LIMIT ${MAX_ROWS_PER_TASK}) AS i
  ), "broadcasts" AS (
    -- A task id that names a broadcast names nothing else (see BroadcastRepository).
    SELECT x.t FROM "task" AS x WHERE EXISTS (SELECT 1 FROM "broadcast" WHERE "task_id" = x.t)
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
  ), "numbered" AS (
    SELECT f.*, d.last - c.c + row_number() OVER (PARTITION BY f.u ORDER BY f.n, f.k) AS seq
      FROM "held", unnest("held".users, "held".lasts) AS d(u, last)
      JOIN "fresh" AS f ON f.u = d.u JOIN "counts" AS c ON c.u = d.u
  ), "heads" AS (
    INSERT INTO "notification_inbox" ("user_id", "task_id", "message", "seq", "recipient_index")
    SELECT u, t, m::json, seq, 0 FROM "numbered" WHERE k = 1 ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING "id", "seq", "task_id", "user_id", ${ISO_CREATED_AT} AS "created_at"
  ), "tails" AS (
    INSERT INTO "notification_inbox" ("user_id", "task_id", "message", "seq", "recipient_index")
    SELECT u, t, m::json, seq, k - 1 FROM "numbered" WHERE k > 1 AND t IN (SELECT "task_id" FROM "heads") ORDER BY n, k
    ON CONFLICT DO NOTHING
    RETURNING "id", "seq", "task_id", "user_id", ${ISO_CREATED_AT} AS "created_at"
  ), "inserted" AS (
    SELECT * FROM "heads" UNION ALL SELECT * FROM "tails"
  ), "rows" AS (
    SELECT x.t, x.k, coalesce(i."id", b."id") AS id, coalesce(i."seq", b."seq") AS seq,
           coalesce(i."created_at", b."created_at") AS created_at, i."id" IS NOT NULL AS inserted,
           -- The same user, in the same place of the list, with the same message.
           b."message" IS NOT NULL AND b."message" = x.m AND b."recipient_index" = x.k - 1 AS matched
      FROM "input" AS x
      LEFT JOIN "inserted" AS i ON i."task_id" = x.t AND i."user_id" = x.u
      LEFT JOIN "before" AS b ON b."task_id" = x.t AND b."user_id" = x.u
  ), "per_task" AS (
    SELECT t, count(*) AS elements, count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE matched) AS matched, min(id) FILTER (WHERE k = 1) AS first_id,
           json_agg(json_build_array(id::text, seq::text, created_at) ORDER BY k) AS rows
      FROM "rows" GROUP BY t
  ), "held_before" AS (
    SELECT "task_id", count(*) AS held FROM "before" GROUP BY "task_id"
  ), "judged" AS (
    SELECT x.*, r.first_id, r.rows, CASE
             WHEN r.inserted = r.elements THEN 'stored'
             WHEN x.t IN (SELECT t FROM "broadcasts") THEN 'conflict'
             WHEN h.held IS NULL THEN 'missing'
             WHEN r.matched = r.elements AND h.held = r.elements THEN 'redelivered'
             ELSE 'conflict' END AS outcome
      FROM "task" AS x JOIN "per_task" AS r ON r.t = x.t LEFT JOIN "held_before" AS h ON h."task_id" = x.t
  ), "recorded" AS (
    ${resultUpsertFrom(
      `(SELECT t AS id, 'SUCCESS' AS status,
               coalesce(report, '{"notification_id":' || first_id || ',"group":"Notifications_' || (users->>0) || '"}') AS result,
               NULL::text AS traceback, args, kwargs, name, $2::varchar AS worker, to_timestamp(received_ms / 1000) AS created
          FROM "judged" WHERE outcome IN ('stored', 'redelivered')) AS y`,
      withDateStarted,
    )}
    RETURNING 1
  )
  SELECT coalesce(json_agg(json_build_array(outcome, CASE WHEN outcome IN ('stored', 'redelivered') THEN rows END) ORDER BY n), '[]')::text AS "results"
    FROM "judged"`;
}

/**
 * Stores each task's notifications in its users' inboxes together with the task's SUCCESS row,
 * atomically, and tells a redelivery (same task id, users and message) from a conflict (same task
 * id, anything else): a task id never makes one user's notification reach another.
 *
 * Group commit: calls that arrive while a statement is running wait and go together into the next
 * one, so under load one commit (one fsync) serves many tasks, and alone a task waits for nobody.
 * A task for several users goes alone: one statement, all its rows. A task id already in the
 * batch waits for the next one, which sees what this one stored. If a shared statement fails, its
 * tasks are retried one by one, so that one bad row cannot fail the others.
 */
@Injectable()
export class InboxWriter {
  private pending: PendingWrite[] = [];
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
      const batch = this.nextBatch();
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

  /**
   * The next statement's writes, oldest first: up to MAX_BATCH tasks for one user each, or one
   * task for several; each task id once.
   */
  private nextBatch(): PendingWrite[] {
    const batch: PendingWrite[] = [];
    const taskIds = new Set<string>();
    const later: PendingWrite[] = [];
    for (const write of this.pending) {
      const several = write.notification.userIds.length > 1;
      const fits =
        batch.length < MAX_BATCH &&
        !taskIds.has(write.notification.taskId) &&
        (batch.length === 0 || (!several && batch[0].notification.userIds.length === 1));
      if (fits) {
        batch.push(write);
        taskIds.add(write.notification.taskId);
      } else later.push(write);
    }
    this.pending = later;
    return batch;
  }

  private async store(batch: PendingWrite[]): Promise<StoreResult[]> {
    // The batch goes as one JSON text and comes back as one: the driver's escaping of eight
    // arrays, and its parsing of a row object per task, were a fifth of the worker's garbage.
    const input = JSON.stringify(
      batch.map(({ notification, success }) => [
        notification.taskId,
        notification.messageJson,
        postgresText(success.taskName),
        postgresText(success.taskArgs),
        postgresText(success.taskKwargs),
        success.receivedAt.getTime(),
        notification.listsRecipients ? JSON.stringify(recipientsReportOf(notification.userIds)) : null,
        notification.userIds,
      ]),
    );
    // One worker per process: sent once.
    const values = [input, postgresText(batch[0].success.worker)];
    const { rows: answer } = await this.pool().query<{ results: string }>({ ...this.statement(), values });
    const rows = JSON.parse(answer[0].results) as StatementRow[];
    return batch.map((write, index) => judge(write.notification, rows[index]));
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

/** What the statement says of one task: its outcome, and each user's row (id, seq, created_at) when it holds them. */
type StatementRow = [
  outcome: 'stored' | 'redelivered' | 'conflict' | 'missing',
  rows: Array<[id: string, seq: string, createdAt: string]> | null,
];

function judge(notification: NewNotification, [outcome, rows]: StatementRow): StoreResult {
  const { taskId, messageJson } = notification;
  // Neither inserted nor there before: stored by another worker meanwhile. Retried, it is judged.
  if (outcome === 'missing')
    throw new Error(`The inbox rows of task ${taskId} were written by another worker meanwhile; try again`);
  if (outcome === 'conflict') return { status: 'conflict', taskId };
  const notifications = rows!.map(([id, seq, createdAt]): InboxRecord => ({ id, seq, taskId, createdAt, messageJson }));
  return { status: 'stored', notifications, redelivered: outcome === 'redelivered' };
}
