import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A revoked task id and until when the revoke holds. */
export interface RevokedTask {
  taskId: string;
  expiresAt: Date;
}

/** What a read of the revokes returns: the revokes, and the database's clock when it was read. */
export interface RevokedTasksRead {
  revoked: RevokedTask[];
  readAt: Date;
}

/** `revoked_task`: the task ids Celery's `revoke` named, shared by every worker. */
@Injectable()
export class RevokedTaskRepository {
  constructor(@InjectDataSource() private readonly database: DataSource) {}

  /**
   * Stores the revokes until `expiresAt`, or for as long again after the eta of a task by that id
   * waiting in `deferred_task`, whichever is later: a revoke must outlast the eta it is meant for.
   * Revoking an id again extends its expiry, never shortens it.
   */
  async revoke(taskIds: readonly string[], expiresAt: Date, holdSeconds: number): Promise<void> {
    if (taskIds.length === 0) return;
    await this.database.query(
      `INSERT INTO "revoked_task" ("task_id", "expires_at")
       SELECT ids."id", GREATEST($2::timestamptz,
                (SELECT max(d."eta") FROM "deferred_task" d WHERE d."task_id" = ids."id") + make_interval(secs => $3))
         FROM unnest($1::varchar[]) AS ids("id")
       ON CONFLICT ("task_id") DO UPDATE
         SET "revoked_at" = now(), "expires_at" = GREATEST("revoked_task"."expires_at", EXCLUDED."expires_at")`,
      [taskIds, expiresAt, holdSeconds],
    );
  }

  /** The unexpired revokes made (or renewed) since `since`, all of them without it. */
  async readSince(since: Date | null): Promise<RevokedTasksRead> {
    const rows: Array<{ taskId: string; expiresAt: Date; readAt: Date }> = await this.database.query(
      `SELECT r."task_id" AS "taskId", r."expires_at" AS "expiresAt", c."now" AS "readAt"
         FROM (SELECT clock_timestamp() AS "now") c
         LEFT JOIN "revoked_task" r ON r."expires_at" > c."now" AND ($1::timestamptz IS NULL OR r."revoked_at" >= $1)`,
      [since],
    );
    return {
      revoked: rows.filter((row) => row.taskId !== null).map(({ taskId, expiresAt }) => ({ taskId, expiresAt })),
      readAt: rows[0].readAt,
    };
  }

  /** Deletes revokes that have expired; resolves to how many. */
  async deleteExpired(): Promise<number> {
    const [{ count }] = await this.database.query<Array<{ count: number }>>(
      `WITH gone AS (DELETE FROM "revoked_task" WHERE "expires_at" <= now() RETURNING 1)
       SELECT count(*)::int AS "count" FROM gone`,
    );
    return count;
  }
}
