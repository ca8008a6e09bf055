import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';

/** One partition of `notification_inbox`: the ids from `from` (null: MINVALUE) up to `to`, excluded. */
export interface InboxPartition {
  name: string;
  from: number | null;
  to: number;
  /** A concurrent detach that was interrupted: it is finished, not started again. */
  detachPending: boolean;
}

/** Taken by whoever maintains the partitions, so two workers never create or drop one at once. */
const MAINTENANCE_LOCK = 'notification_inbox partitions';
/** DDL waits no longer behind a long query: every insert would queue behind the waiting DDL. */
const LOCK_TIMEOUT = '5s';

const BOUND = /FROM \((MINVALUE|'(-?\d+)')\) TO \('(-?\d+)'\)/;

/**
 * The partitions of the inbox (ranges of `id`, see the migration PartitionInboxById), read and
 * changed on one connection that holds the maintenance lock.
 */
export class InboxPartitionSession {
  constructor(private readonly runner: QueryRunner) {}

  /** Oldest first. */
  async list(): Promise<InboxPartition[]> {
    const rows: Array<{ name: string; bound: string; detachPending: boolean }> = await this.runner.query(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound, i.inhdetachpending AS "detachPending"
         FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = '"notification_inbox"'::regclass`,
    );
    return rows
      .map(({ name, bound, detachPending }) => {
        const [, , from, to] = BOUND.exec(bound) ?? [];
        if (to === undefined) throw new Error(`Unexpected bound of ${name}: ${bound}`);
        return { name, from: from === undefined ? null : Number(from), to: Number(to), detachPending };
      })
      .sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
  }

  /**
   * The newest id drawn or stored: the identity's last value, or a higher id inserted explicitly.
   * New rows come after it.
   */
  async lastId(): Promise<number> {
    const [{ sequence }] = await this.runner.query(
      `SELECT pg_get_serial_sequence('"notification_inbox"', 'id') AS "sequence"`,
    );
    const [row] = await this.runner.query(
      `SELECT greatest((SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${sequence}),
                       (SELECT "id" FROM "notification_inbox" ORDER BY "id" DESC LIMIT 1), 0)::bigint AS "last"`,
    );
    return Number(row.last);
  }

  /** When the partition's newest row was created, or null when it holds none. */
  async newestCreatedAt(partition: InboxPartition): Promise<Date | null> {
    const [row] = await this.runner.query(
      `SELECT "created_at" AS "createdAt" FROM "${partition.name}" ORDER BY "id" DESC LIMIT 1`,
    );
    return row?.createdAt ?? null;
  }

  /**
   * Created apart, then attached: ATTACH locks the parent only against other DDL (SHARE UPDATE
   * EXCLUSIVE), where CREATE TABLE ... PARTITION OF would hold every insert while it waits. The
   * parent's indexes are built on the empty table as it is attached. A table left unattached by a
   * pass whose ATTACH timed out is attached now (nothing writes to it before).
   */
  async create(from: number, to: number): Promise<string> {
    const name = `notification_inbox_from_${from}`;
    await this.runner.query(`CREATE TABLE IF NOT EXISTS "${name}" (LIKE "notification_inbox" INCLUDING DEFAULTS)`);
    await this.runner.query(
      `ALTER TABLE "notification_inbox" ATTACH PARTITION "${name}" FOR VALUES FROM (${from}) TO (${to})`,
    );
    return name;
  }

  /**
   * Detaches CONCURRENTLY (inserts and reads go on), then drops: no row is deleted one by one.
   * Not in a transaction block, as CONCURRENTLY requires: each statement commits on its own.
   */
  async drop(partition: InboxPartition): Promise<void> {
    await this.runner.query(
      `ALTER TABLE "notification_inbox" DETACH PARTITION "${partition.name}" ${partition.detachPending ? 'FINALIZE' : 'CONCURRENTLY'}`,
    );
    await this.runner.query(`DROP TABLE "${partition.name}"`);
  }
}

@Injectable()
export class InboxPartitions {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs `work` on one connection holding the maintenance lock (a session advisory lock), each
   * statement in a transaction of its own; resolves to null, without running it, while another
   * connection holds the lock.
   */
  async maintain<T>(work: (session: InboxPartitionSession) => Promise<T>): Promise<T | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS "locked"`, [
        MAINTENANCE_LOCK,
      ]);
      if (!locked) return null;
      try {
        await runner.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
        return await work(new InboxPartitionSession(runner));
      } finally {
        await runner.query(`RESET lock_timeout`);
        await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [MAINTENANCE_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }
}
