import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox rows of one task, for the store statement's redelivery check (`before` in
 * inbox-store.statements.ts).
 *
 * The inbox is partitioned by id, and a task id names no id, so a search for a task's rows scans
 * every partition. Written inside the store statement (a named statement: one generic plan), that
 * scan was started on every run although it reads a row only for a task stored before: a lock and
 * an index opened per partition, 2.5 µs of Postgres CPU each, 250 µs a statement at the default
 * 93 partitions, where the whole statement for one message costs 340 (bench/store-costs.ts). A
 * plpgsql function is opaque to the statement's plan: the scan is planned and started only when
 * the function is called, for a task already stored. STABLE, so it reads with the calling
 * statement's snapshot, as the inlined search did.
 */
export class InboxTaskRowsFunction1764922700000 implements MigrationInterface {
  name = 'InboxTaskRowsFunction1764922700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "notification_inbox_task_rows"(p_task_id varchar, p_limit integer)
      RETURNS TABLE ("task_id" varchar, "id" bigint, "seq" bigint, "user_id" varchar, "recipient_index" smallint,
                     "created_at" timestamptz, "message" text)
      LANGUAGE plpgsql STABLE AS $$
      BEGIN
        RETURN QUERY
          SELECT i."task_id", i."id", i."seq", i."user_id", i."recipient_index", i."created_at", i."message"::text
            FROM "notification_inbox" AS i WHERE i."task_id" = p_task_id LIMIT p_limit;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "notification_inbox_task_rows"(varchar, integer)`);
  }
}
