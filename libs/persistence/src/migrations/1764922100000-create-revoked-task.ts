import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Task ids revoked with Celery's `revoke` (`AsyncResult.revoke()`, `celery control revoke`). A
 * Celery worker keeps them in memory only; stored here, a worker that was down or started later
 * honours them too. A row holds until `expires_at` (Celery's `worker_revoke_expires`).
 */
export class CreateRevokedTask1764922100000 implements MigrationInterface {
  name = 'CreateRevokedTask1764922100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "revoked_task" (
        "task_id" varchar(255) NOT NULL PRIMARY KEY,
        "revoked_at" timestamp with time zone NOT NULL DEFAULT now(),
        "expires_at" timestamp with time zone NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "revoked_task_revoked_at" ON "revoked_task" ("revoked_at")`);
    await queryRunner.query(`CREATE INDEX "revoked_task_expires_at" ON "revoked_task" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "revoked_task"`);
  }
}
