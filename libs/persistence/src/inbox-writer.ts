import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { StoredNotification } from '@app/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { TaskOutcome, TaskResultRepository } from './task-result.repository';

export interface NewNotification {
  userId: string;
  taskId: string;
  /** The payload as JSON text: stored byte for byte, and compared so with a stored one. */
  messageJson: string;
}

/** A notification in a user's inbox, as the worker frames it. */
export interface InboxRecord extends StoredNotification {
  id: string;
  seq: string;
  userId: string;
  taskId: string;
  createdAt: Date;
  messageJson: string;
}

/**
 * What storing a task's notification came to:
 * - `stored`: its notification is in the inbox and its result row is written. `redelivered` when
 *   the task had been stored before with the same user and message (the same notification again).
 * - `conflict`: the task id already holds another user's or another message's notification. Nothing
 *   was written: the stored notification and its result row belong to the task that came first.
 */
export type StoreResult =
  | { status: 'stored'; notification: InboxRecord; outcome: TaskOutcome; redelivered: boolean }
  | { status: 'conflict'; taskId: string };

interface PendingWrite {
  input: NewNotification;
  outcomeFor: (notification: InboxRecord) => TaskOutcome;
  resolve: (result: StoreResult) => void;
  reject: (error: unknown) => void;
}

/** The most tasks one transaction takes (the worker's prefetch bounds how many wait anyway). */
const MAX_BATCH = 500;

const RECORD_COLUMNS = `"id", "seq", "user_id" AS "userId", "task_id" AS "taskId", "created_at" AS "createdAt"`;

/**
 * Draws the seqs and inserts the tasks not stored yet, in batch order. Locking a user's counter
 * row serializes that user's writers: rows (hence ids, drawn at insert) exist only once every
 * counter of the batch is held, so for each user seq order, id order and commit order agree.
 * Counters are locked in user order, so two workers' batches cannot deadlock. A task id stored
 * by a concurrent transaction after this statement's snapshot is skipped by ON CONFLICT, which
 * leaves a hole in that user's seqs: readers treat a hole as a gap they find nothing in.
 */
const INSERT_NEW = `
  WITH "input" AS (
    SELECT u, t, m, n FROM unnest($1::varchar[], $2::varchar[], $3::text[]) WITH ORDINALITY AS x(u, t, m, n)
  ), "fresh" AS (
    SELECT * FROM "input" WHERE NOT EXISTS (SELECT 1 FROM "notification_inbox" AS i WHERE i."task_id" = "input".t)
  ), "counts" AS (
    SELECT u, count(*) AS c FROM "fresh" GROUP BY u
  ), "drawn" AS (
    INSERT INTO "notification_sequence" AS s ("user_id", "last_seq") SELECT u, c FROM "counts" ORDER BY u
    ON CONFLICT ("user_id") DO UPDATE SET "last_seq" = s."last_seq" + EXCLUDED."last_seq"
    RETURNING "user_id", "last_seq"
  )
  INSERT INTO "notification_inbox" ("user_id", "task_id", "message", "seq")
  SELECT f.u, f.t, f.m::json, d."last_seq" - c.c + row_number() OVER (PARTITION BY f.u ORDER BY f.n)
    FROM "fresh" AS f JOIN "drawn" AS d ON d."user_id" = f.u JOIN "counts" AS c ON c.u = f.u
   ORDER BY f.n
  ON CONFLICT ("task_id") DO NOTHING
  RETURNING ${RECORD_COLUMNS}`;

const SELECT_STORED = `SELECT ${RECORD_COLUMNS}, "message"::text AS "messageJson" FROM "notification_inbox" WHERE "task_id" = ANY($1)`;

/**
 * Stores each task's notification in its user's inbox together with the task's result row, in one
 * transaction, and tells a redelivery (same task id, user and message) from a conflict (same task
 * id, anything else): a task id never makes one user's notification reach another.
 *
 * Group commit: calls that arrive while a transaction is being written wait and go together into
 * the next one, so under load one commit (one fsync) serves many tasks, and alone a task waits
 * for nobody. If a shared transaction fails, its tasks are retried one by one, so that one bad
 * row cannot fail the others.
 */
@Injectable()
export class InboxWriter {
  private readonly pending: PendingWrite[] = [];
  private writing = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly results: TaskResultRepository,
  ) {}

  /** `outcomeFor` makes the SUCCESS row from the stored notification; it is written only when stored. */
  storeWithResult(
    input: NewNotification,
    outcomeFor: (notification: InboxRecord) => TaskOutcome,
  ): Promise<StoreResult> {
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

  private store(batch: PendingWrite[]): Promise<StoreResult[]> {
    return this.dataSource.transaction(async (manager) => {
      const records = await this.insertOrFind(batch, manager);
      const seen = new Set<string>();
      const results = batch.map((write) => {
        const first = !seen.has(write.input.taskId);
        seen.add(write.input.taskId);
        return judge(write, records.get(write.input.taskId), first);
      });
      const recorded = new Set<string>();
      const outcomes = results.flatMap((result) => {
        if (result.status !== 'stored' || recorded.has(result.outcome.taskId)) return [];
        recorded.add(result.outcome.taskId);
        return [result.outcome];
      });
      await this.results.recordMany(outcomes, manager);
      return results;
    });
  }

  /** Each task id's record (with whether this transaction inserted it); a task id given twice goes in once. */
  private async insertOrFind(
    batch: PendingWrite[],
    manager: EntityManager,
  ): Promise<Map<string, InboxRecord & { inserted: boolean }>> {
    const distinct = [...new Map(batch.map((write) => [write.input.taskId, write.input])).values()];
    const inserted: InboxRecord[] = await manager.query(INSERT_NEW, [
      distinct.map((input) => input.userId),
      distinct.map((input) => input.taskId),
      distinct.map((input) => input.messageJson),
    ]);
    const inputs = new Map(distinct.map((input) => [input.taskId, input]));
    const records = new Map(
      inserted.map((row) => [row.taskId, { ...row, messageJson: inputs.get(row.taskId)!.messageJson, inserted: true }]),
    );
    const missing = distinct.filter((input) => !records.has(input.taskId)).map((input) => input.taskId);
    if (missing.length > 0) {
      const stored: InboxRecord[] = await manager.query(SELECT_STORED, [missing]);
      for (const row of stored) records.set(row.taskId, { ...row, inserted: false });
    }
    return records;
  }
}

/** A write is stored when the record under its task id is its own notification; otherwise a conflict. */
function judge(
  write: PendingWrite,
  record: (InboxRecord & { inserted: boolean }) | undefined,
  firstInBatch: boolean,
): StoreResult {
  // Neither inserted nor found: retention deleted the row in between. Retried, it is stored afresh.
  if (!record) throw new Error(`The inbox row of task ${write.input.taskId} vanished while it was stored; try again`);
  const { inserted, ...notification } = record;
  if (notification.userId !== write.input.userId || notification.messageJson !== write.input.messageJson) {
    return { status: 'conflict', taskId: write.input.taskId };
  }
  // Stored by an earlier transaction, or a second write of one task id in this batch.
  const redelivered = !inserted || !firstInBatch;
  return { status: 'stored', notification, outcome: write.outcomeFor(notification), redelivered };
}
