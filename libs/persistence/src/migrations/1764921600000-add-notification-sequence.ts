import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Gives every notification a per-user sequence number (`seq`): 1, 2, 3, ... for each user, with
 * no gap, so that whoever holds seq N and is shown N + 2 knows N + 1 exists and can fetch it.
 *
 * The counter lives in `notification_sequence`, one row per user, not in `max(seq)` of the inbox:
 * retention may delete all of a user's rows, and a sequence starting again at 1 would look like
 * old news to a socket that has seen 500. Locking that row is also what serializes a user's
 * writers, so seq order, id order and commit order agree for each user.
 */
export class AddNotificationSequence1764921600000 implements MigrationInterface {
  name = 'AddNotificationSequence1764921600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "notification_inbox" ADD COLUMN "seq" bigint`);
    await queryRunner.query(`
      UPDATE "notification_inbox" AS i SET "seq" = numbered."seq"
        FROM (SELECT "id", row_number() OVER (PARTITION BY "user_id" ORDER BY "id") AS "seq" FROM "notification_inbox") AS numbered
       WHERE i."id" = numbered."id"`);
    await queryRunner.query(`ALTER TABLE "notification_inbox" ALTER COLUMN "seq" SET NOT NULL`);
    await queryRunner.query(`
      CREATE TABLE "notification_sequence" (
        "user_id" varchar(64) NOT NULL PRIMARY KEY,
        "last_seq" bigint NOT NULL
      )`);
    await queryRunner.query(`
      INSERT INTO "notification_sequence" ("user_id", "last_seq")
      SELECT "user_id", max("seq") FROM "notification_inbox" GROUP BY "user_id"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "notification_sequence"`);
    await queryRunner.query(`ALTER TABLE "notification_inbox" DROP COLUMN "seq"`);
  }
}
