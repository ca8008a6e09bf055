import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseConfig } from '@app/config';
import type { StoredNotification } from '@app/contracts';
import { DataSource } from 'typeorm';
import { listStoreStatement, singleUserStoreStatement } from './inbox-store.statements';
import { TaskResultRepository, postgresText } from './task-result.repository';

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
 * store statement (inbox-store.statements.ts) builds the same text in SQL (user ids hold no
 * character JSON escapes); the worker's integration spec compares the two.
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

/**
 * Stores each task's notifications in its users' inboxes together with the task's SUCCESS row,
 * atomically, and tells a redelivery (same task id, users and message) from a conflict (same task
 * id, anything else): a task id never makes one user's notification reach another.
 *
 * Group commit: calls that arrive while a statement is running wait and go together into the next
 * one, so under load one commit (one fsync) serves many tasks. When no statement is running, the
 * first task waits STORE_BATCH_WAIT_MS for others (not when a full batch is already waiting):
 * at a steady 1,000 tasks/s, each would otherwise take a statement of its own: about 360 µs of
 * Postgres CPU for one task, against about 40 a task in a batch of 500 (bench:store).
 * A task for several users goes alone: one statement, all its rows. A task id already in the
 * batch waits for the next one, which sees what this one stored. If a shared statement fails, its
 * tasks are retried one by one, so that one bad row cannot fail the others.
 */
@Injectable()
export class InboxWriter {
  private pending: PendingWrite[] = [];
  private writing = false;
  /** While the first task after an idle spell waits for others. */
  private gathering: NodeJS.Timeout | null = null;
  private readonly statements = new Map<string, { name: string; text: string }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly results: TaskResultRepository,
    private readonly config: DatabaseConfig,
  ) {}

  storeWithResult(notification: NewNotification, success: SuccessRecord): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ notification, success, resolve, reject });
      this.startWriting();
    });
  }

  /** At once when a full batch waits or no wait is set; otherwise once the first task has waited. */
  private startWriting(): void {
    if (this.writing) return; // the running loop takes what arrives
    if (this.pending.length < MAX_BATCH && this.config.STORE_BATCH_WAIT_MS > 0)
      this.gathering ??= setTimeout(() => this.writeGathered(), this.config.STORE_BATCH_WAIT_MS);
    else this.writeGathered();
  }

  private writeGathered(): void {
    clearTimeout(this.gathering ?? undefined);
    this.gathering = null;
    void this.writePending();
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
        // A list task's users as an array; one user's id alone, for the single-user statement.
        notification.userIds.length > 1 ? notification.userIds : notification.userIds[0],
      ]),
    );
    // One worker per process: sent once.
    const values = [input, postgresText(batch[0].success.worker)];
    const { rows: answer } = await this.pool().query<{ results: string }>({ ...this.statement(batch), values });
    const rows = JSON.parse(answer[0].results) as StatementRow[];
    return batch.map((write, index) => judge(write.notification, rows[index]));
  }

  /**
   * A named statement: each connection parses and plans it once, not once a batch (planning this
   * statement took about as long as running it for one task, which is what a batch holds at
   * 1,000 notifications a second).
   */
  private statement(batch: PendingWrite[]): { name: string; text: string } {
    const forList = batch[0].notification.userIds.length > 1;
    const withDateStarted = this.results.hasDateStarted;
    const key = `${forList ? 'list' : 'single'}-${withDateStarted ? 'started' : 'plain'}`;
    let statement = this.statements.get(key);
    if (!statement) {
      const text = (forList ? listStoreStatement : singleUserStoreStatement)(withDateStarted);
      statement = { name: `inbox-store-${key}`, text };
      this.statements.set(key, statement);
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
