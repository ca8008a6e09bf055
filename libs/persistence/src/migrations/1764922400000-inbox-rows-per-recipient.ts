import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One task may notify many users (`user_ids`): one inbox row per user, so a task id is no longer
 * unique in the inbox. Each row carries its user's place in the task's list (`recipient_index`,
 * 0 for a task of one user), and (task id, place) is unique.
 *
 * That one index does three things, where a unique (task id, user) index beside it would cost
 * every insert a second index: it finds a task's rows; its place-0 row is the task's head, which
 * the worker writes first and writes the other rows only when it wrote the head, so two workers
 * storing different lists under one task id at the same moment cannot both write part of it (and
 * a task's users are then distinct, as the decoder refuses a list that repeats one); and it keeps
 * the list's order, which tells a redelivery (the same list) from a conflict (another order).
 * Every row stored so far is its task's only row: place 0 (the constant default rewrites no row).
 */
export class InboxRowsPerRecipient1764922400000 implements MigrationInterface {
  name = 'InboxRowsPerRecipient1764922400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "notification_inbox" ADD COLUMN "recipient_index" smallint NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "notification_inbox_task_id_recipient" ON "notification_inbox" ("task_id", "recipient_index")`,
    );
    await queryRunner.query(`ALTER TABLE "notification_inbox" DROP CONSTRAINT "notification_inbox_task_id_key"`);
  }

  /** Fails (unique violation) while any task holds several rows: reverting would lose them. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "notification_inbox" ADD CONSTRAINT "notification_inbox_task_id_key" UNIQUE ("task_id")`,
    );
    await queryRunner.query(`DROP INDEX "notification_inbox_task_id_recipient"`);
    await queryRunner.query(`ALTER TABLE "notification_inbox" DROP COLUMN "recipient_index"`);
  }
}
