import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A user's cut-off: tokens issued before `cutoff` (seconds since the epoch) are refused. */
export interface TokenCutoff {
  userId: string;
  cutoff: number;
  updatedAt: Date;
}

const SELECT_CUTOFFS = `SELECT "user_id" AS "userId", extract(epoch FROM "cutoff")::bigint AS "cutoff", "updated_at" AS "updatedAt"
  FROM "user_token_cutoff"`;

/** `user_token_cutoff`: one row per user who was logged out everywhere. */
@Injectable()
export class TokenCutoffRepository {
  constructor(@InjectDataSource() private readonly database: DataSource) {}

  /** Moves the user's cut-off to `cutoff` (seconds), never back. Resolves to the cut-off in force. */
  async raise(userId: string, cutoff: number): Promise<number> {
    const [row] = await this.database.query<Array<{ cutoff: string }>>(
      `INSERT INTO "user_token_cutoff" ("user_id", "cutoff") VALUES ($1, to_timestamp($2))
       ON CONFLICT ("user_id") DO UPDATE
         SET "cutoff" = greatest("user_token_cutoff"."cutoff", excluded."cutoff"), "updated_at" = now()
       RETURNING extract(epoch FROM "cutoff")::bigint AS "cutoff"`,
      [userId, cutoff],
    );
    return Number(row.cutoff);
  }

  /** Every cut-off changed after `since` (all of them without), as of the database's clock. */
  async changedSince(since: Date | null): Promise<TokenCutoff[]> {
    const rows = await this.database.query<Array<{ userId: string; cutoff: string; updatedAt: Date }>>(
      since ? `${SELECT_CUTOFFS} WHERE "updated_at" > $1` : SELECT_CUTOFFS,
      since ? [since] : [],
    );
    return rows.map((row) => ({ ...row, cutoff: Number(row.cutoff) }));
  }

  /** Deletes cut-offs from before `before`; resolves to how many. */
  async prune(before: Date): Promise<number> {
    const [{ count }] = await this.database.query<Array<{ count: number }>>(
      `WITH deleted AS (DELETE FROM "user_token_cutoff" WHERE "cutoff" < $1 RETURNING 1)
       SELECT count(*)::int AS count FROM deleted`,
      [before],
    );
    return count;
  }
}
