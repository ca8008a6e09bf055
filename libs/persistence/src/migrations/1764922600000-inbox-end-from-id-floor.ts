import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a user's inbox ends (its newest id, and its last seq) without reading every partition.
 *
 * `max(id) WHERE user_id = $1` names no id, so it is planned and started over every partition of
 * the inbox: 6 ms of planning at the default 90 daily partitions, on every connect (the position
 * a socket starts from) and every resume. `notification_sequence.id_floor` is a number the id
 * sequence gave out before the user's last batch drew its ids, so the user's newest id is at or
 * above it whenever that batch stored a row; `notification_inbox_end` searches from there only.
 *
 * The search is dynamic SQL so that it is planned with the floor's value, and the planner keeps
 * only the partitions from the floor up (a generic plan or a subquery would still plan them all).
 * Where nothing lies at or above the floor (a batch that lost its tasks to another worker's claim,
 * a row older than the column, `id_floor` 0) it falls back to the search over every partition.
 * STABLE, so both reads and the caller's see one snapshot: the id and the seq agree.
 */
export class InboxEndFromIdFloor1764922600000 implements MigrationInterface {
  name = 'InboxEndFromIdFloor1764922600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A constant default: no table rewrite.
    await queryRunner.query(`ALTER TABLE "notification_sequence" ADD COLUMN "id_floor" bigint NOT NULL DEFAULT 0`);
    await queryRunner.query(`
      CREATE FUNCTION "notification_inbox_end"(p_user_id varchar, OUT end_id bigint, OUT end_seq bigint)
      LANGUAGE plpgsql STABLE AS $$
      DECLARE
        floor_id bigint;
      BEGIN
        SELECT s."id_floor", s."last_seq" INTO floor_id, end_seq FROM "notification_sequence" AS s WHERE s."user_id" = p_user_id;
        IF NOT FOUND THEN
          -- A user's rows are stored with their counter row: no counter, no rows.
          end_id := 0;
          end_seq := 0;
          RETURN;
        END IF;
        EXECUTE 'SELECT max("id") FROM "notification_inbox" WHERE "user_id" = $1 AND "id" >= $2'
          INTO end_id USING p_user_id, floor_id;
        IF end_id IS NULL AND floor_id > 0 THEN
          SELECT max(i."id") INTO end_id FROM "notification_inbox" AS i WHERE i."user_id" = p_user_id;
        END IF;
        end_id := coalesce(end_id, 0);
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "notification_inbox_end"(varchar)`);
    await queryRunner.query(`ALTER TABLE "notification_sequence" DROP COLUMN "id_floor"`);
  }
}
