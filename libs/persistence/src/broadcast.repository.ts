import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TaskStatus } from '@app/contracts';
import type { StoredBroadcast } from '@app/contracts';
import { DataSource, EntityManager } from 'typeorm';
import type { SuccessRecord } from './inbox-writer';
import { ISO_CREATED_AT } from './iso-created-at';
import { TaskResultRepository } from './task-result.repository';

/** A broadcast as read back: the id and `created_at` as text, the message as the JSON text stored. */
export interface BroadcastRecord extends StoredBroadcast {
  id: string;
  createdAt: string;
  messageJson: string;
}

/**
 * What storing a task's broadcast came to: `stored` (with `redelivered` when the task id held this
 * same message already), or `conflict` when the task id holds another message, or a notification
 * in some user's inbox: then nothing was written.
 */
export type BroadcastStoreResult =
  { status: 'stored'; broadcast: BroadcastRecord; redelivered: boolean } | { status: 'conflict'; taskId: string };

const COLUMNS = `"id"::text AS "id", ${ISO_CREATED_AT} AS "createdAt", "message"::text AS "messageJson"`;

/** The SUCCESS row's `result` of a broadcast task. */
export function broadcastReportOf(broadcastId: number | string): string {
  return JSON.stringify({ broadcast_id: Number(broadcastId) });
}

/**
 * `broadcast`: announcements to every connected user, one row each. Ages are measured on the
 * database's clock (`now()`), so gateways and workers with skewed clocks agree on the window.
 */
@Injectable()
export class BroadcastRepository {
  constructor(
    @InjectDataSource() private readonly database: DataSource,
    private readonly results: TaskResultRepository,
  ) {}

  /** Stores a broadcast that came over REST (no task). */
  async add(messageJson: string): Promise<BroadcastRecord> {
    const [row] = await this.database.query<BroadcastRecord[]>(
      `INSERT INTO "broadcast" ("message") VALUES ($1::json) RETURNING ${COLUMNS}`,
      [messageJson],
    );
    return row;
  }

  /**
   * Stores a task's broadcast and its SUCCESS row in one transaction. A task id names one thing:
   * the same message again is a redelivery (nothing new stored); another message, or a task id
   * that already holds a notification, is a conflict.
   */
  storeWithResult(taskId: string, messageJson: string, success: SuccessRecord): Promise<BroadcastStoreResult> {
    return this.database.transaction(async (manager) => {
      const inInbox = await manager.query(`SELECT 1 FROM "notification_inbox" WHERE "task_id" = $1 LIMIT 1`, [taskId]);
      if (inInbox.length > 0) return { status: 'conflict', taskId };
      const [inserted] = await manager.query<BroadcastRecord[]>(
        `INSERT INTO "broadcast" ("task_id", "message") VALUES ($1, $2::json)
         ON CONFLICT ("task_id") DO NOTHING RETURNING ${COLUMNS}`,
        [taskId, messageJson],
      );
      const broadcast = inserted ?? (await this.ofTask(manager, taskId));
      if (!broadcast || broadcast.messageJson !== messageJson) return { status: 'conflict', taskId };
      await this.results.record(
        { ...success, taskId, status: TaskStatus.Success, result: broadcastReportOf(broadcast.id) },
        manager,
      );
      return { status: 'stored', broadcast, redelivered: !inserted };
    });
  }

  /**
   * Up to `limit` broadcasts after `afterId` made within the last `withinSeconds`, oldest first:
   * what a resuming client missed. Ordered by the column, not by the `id` the select turns to text.
   */
  after(afterId: number, withinSeconds: number, limit: number): Promise<BroadcastRecord[]> {
    return this.database.query<BroadcastRecord[]>(
      `SELECT ${COLUMNS} FROM "broadcast"
        WHERE "id" > $1 AND "created_at" > now() - make_interval(secs => $2)
        ORDER BY "broadcast"."id" LIMIT $3`,
      [afterId, withinSeconds, limit],
    );
  }

  /** The newest broadcast's id; 0 when there is none. */
  async latestId(): Promise<number> {
    const [row] = await this.database.query<Array<{ id: string | null }>>(
      `SELECT max("id")::text AS "id" FROM "broadcast"`,
    );
    return Number(row.id ?? 0);
  }

  /** How many broadcasts were made within the last `withinSeconds`. */
  async countWithin(withinSeconds: number): Promise<number> {
    const [row] = await this.database.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS "count" FROM "broadcast" WHERE "created_at" > now() - make_interval(secs => $1)`,
      [withinSeconds],
    );
    return row.count;
  }

  /** Deletes up to `batchSize` of the broadcasts older than `olderThanSeconds`, oldest first; resolves to how many. */
  async deleteOlderThan(olderThanSeconds: number, batchSize: number): Promise<number> {
    const [, count] = await this.database.query<[unknown, number]>(
      `DELETE FROM "broadcast" WHERE "id" IN (
         SELECT "id" FROM "broadcast" WHERE "created_at" <= now() - make_interval(secs => $1) ORDER BY "id" LIMIT $2)`,
      [olderThanSeconds, batchSize],
    );
    return count;
  }

  private async ofTask(manager: EntityManager, taskId: string): Promise<BroadcastRecord | undefined> {
    const [row] = await manager.query<BroadcastRecord[]>(`SELECT ${COLUMNS} FROM "broadcast" WHERE "task_id" = $1`, [
      taskId,
    ]);
    return row;
  }
}
