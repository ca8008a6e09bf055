import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention finds the newest expired notification by bisecting the primary key (ids grow with
 * time), so no index on `created_at` is needed; dropping it spares every insert one index
 * (docs/benchmarks.md).
 */
export class DropInboxCreatedAtIndex1764921800000 implements MigrationInterface {
  name = 'DropInboxCreatedAtIndex1764921800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "notification_inbox_created_at"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "notification_inbox_created_at" ON "notification_inbox" ("created_at")`);
  }
}
