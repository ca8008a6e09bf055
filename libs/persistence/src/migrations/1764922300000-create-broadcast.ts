import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Announcements to every connected user, apart from the users' inboxes (one row, not one per user).
 * `id` orders them for everyone: a client resumes after the last id it saw. `task_id` is set for
 * those that came from the task queue, so a redelivery finds the broadcast it stored; kept for
 * BROADCAST_RETENTION_SECONDS, pruned by id.
 */
export class CreateBroadcast1764922300000 implements MigrationInterface {
  name = 'CreateBroadcast1764922300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "broadcast" (
        "id" bigserial NOT NULL PRIMARY KEY,
        "task_id" varchar(255) UNIQUE,
        "message" json NOT NULL,
        "created_at" timestamp with time zone NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "broadcast"`);
  }
}
