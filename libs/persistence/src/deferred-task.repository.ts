import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';

/** A task message put aside until its eta: what is needed to publish it again, as it came. */
export interface DeferredMessage {
  taskId: string;
  taskName: string | null;
  eta: Date;
  expires: Date | null;
  content: Buffer;
  /** The AMQP properties to publish it with (headers included); JSON-able but for Buffers. */
  properties: Record<string, unknown>;
}

/** A deferred task as the admin API shows it. */
export interface ScheduledTask {
  taskId: string;
  taskName: string | null;
  eta: Date;
  expires: Date | null;
  deferredAt: Date;
}

/**
 * Claims due rows so that two workers never take the same one, and deletes them in the same
 * transaction as they are published: if publishing fails, they stay for the next round.
 */
const CLAIM_DUE = `
  SELECT "id", "task_id" AS "taskId", "task_name" AS "taskName", "eta", "expires", "content", "properties"
    FROM "deferred_task" WHERE "eta" <= $1 ORDER BY "eta" LIMIT $2 FOR UPDATE SKIP LOCKED`;

/** `deferred_task`: Celery tasks waiting in Postgres for an eta too far ahead to hold in memory. */
@Injectable()
export class DeferredTaskRepository {
  constructor(@InjectDataSource() private readonly database: DataSource) {}

  /** Stores the message; storing the same message of the same task again changes nothing. */
  async save(message: DeferredMessage): Promise<void> {
    await this.database.query(
      `INSERT INTO "deferred_task" ("task_id", "task_name", "eta", "expires", "content", "content_sha256", "properties")
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ("task_id", "content_sha256") DO NOTHING`,
      [
        message.taskId,
        message.taskName,
        message.eta,
        message.expires,
        message.content,
        createHash('sha256').update(message.content).digest(),
        JSON.stringify(message.properties),
      ],
    );
  }

  /**
   * Takes up to `limit` tasks due by `dueBy`, oldest eta first, and hands them to `publish`; they
   * are deleted once it resolves, and stay if it throws. Resolves to how many were published.
   */
  releaseDue(dueBy: Date, limit: number, publish: (messages: DeferredMessage[]) => Promise<void>): Promise<number> {
    return this.database.transaction(async (manager) => {
      const rows: Array<DeferredMessage & { id: string; properties: string }> = await manager.query(CLAIM_DUE, [
        dueBy,
        limit,
      ]);
      if (rows.length === 0) return 0;
      await publish(
        rows.map(({ id: _id, properties, ...row }) => ({ ...row, properties: JSON.parse(properties, reviveBuffers) })),
      );
      await manager.query(`DELETE FROM "deferred_task" WHERE "id" = ANY($1::bigint[])`, [rows.map((row) => row.id)]);
      return rows.length;
    });
  }

  /** The deferred tasks, soonest first. */
  async list(offset: number, limit: number): Promise<{ total: number; items: ScheduledTask[] }> {
    const [{ total }] = await this.database.query(`SELECT count(*)::int AS "total" FROM "deferred_task"`);
    const items: ScheduledTask[] = await this.database.query(
      `SELECT "task_id" AS "taskId", "task_name" AS "taskName", "eta", "expires", "deferred_at" AS "deferredAt"
         FROM "deferred_task" ORDER BY "eta", "id" OFFSET $1 LIMIT $2`,
      [offset, limit],
    );
    return { total, items };
  }
}

/** `JSON.stringify` writes a Buffer (an AMQP byte-array header) as `{type: 'Buffer', data}`. */
function reviveBuffers(_key: string, value: unknown): unknown {
  const candidate = value as { type?: unknown; data?: unknown } | null;
  return candidate && candidate.type === 'Buffer' && Array.isArray(candidate.data)
    ? Buffer.from(candidate.data as number[])
    : value;
}
