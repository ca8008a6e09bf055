import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One task may notify many users (`user_ids`): one inbox row per user, so a task id is no longer
 * unique in the inbox, and (task id, user) is.
 *
 * One row of each task is its head (`task_head`, unique per task id), written first: the worker
 * writes a task's other rows only when it wrote the head, so two workers storing different lists
 * of users under one task id at the same moment cannot both write part of it. Every row stored so
 * far is its task's only row, hence its head (the constant default changes no row on disk).
 */
export class InboxRowsPerRecipient1764922400000 implements MigrationInterface {
  name = 'InboxRowsPerRecipient1764922400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "notification_inbox" ADD COLUMN "task_head" boolean NOT NULL DEFAULT true`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "notification_inbox_task_id_user_id" ON "notification_inbox" ("task_id", "user_id")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "notification_inbox_task_head" ON "notification_inbox" ("task_id") WHERE "task_head"`,
    );
    await queryRunner.query(`ALTER TABLE "notification_inbox" DROP CONSTRAINT "notification_inbox_task_id_key"`);
  }

  /** Fails (unique violation) while any task holds several rows: reverting would lose them. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "notification_inbox" ADD CONSTRAINT "notification_inbox_task_id_key" UNIQUE ("task_id")`,
    );
    await queryRunner.query(`DROP INDEX "notification_inbox_task_head"`);
    await queryRunner.query(`DROP INDEX "notification_inbox_task_id_user_id"`);
    await queryRunner.query(`ALTER TABLE "notification_inbox" DROP COLUMN "task_head"`);
  }
}
