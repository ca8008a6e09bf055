import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * "Log out everywhere": a user's access tokens issued before `cutoff` no longer open a session.
 * Kept here so that it survives restarts and reaches gateways started later; `updated_at` lets
 * each gateway read only what changed since it last looked.
 */
export class CreateUserTokenCutoff1764922200000 implements MigrationInterface {
  name = 'CreateUserTokenCutoff1764922200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "user_token_cutoff" (
        "user_id" varchar(64) NOT NULL PRIMARY KEY,
        "cutoff" timestamp with time zone NOT NULL,
        "updated_at" timestamp with time zone NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "user_token_cutoff_updated_at" ON "user_token_cutoff" ("updated_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "user_token_cutoff"`);
  }
}
