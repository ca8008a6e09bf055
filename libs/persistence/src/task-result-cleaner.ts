import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Deletes task results whose `date_done` is older than a cut-off, as Celery's `backend_cleanup`
 * does for django-celery-results, in batches: each batch is its own short statement, so a large
 * backlog never holds locks on the table for long or bloats one transaction. `SKIP LOCKED` lets
 * several workers sweep at once without waiting on each other (or on a row being rewritten).
 */
@Injectable()
export class TaskResultCleaner {
  private static readonly BATCH_SQL = `
    WITH expired AS (
      SELECT id FROM django_celery_results_taskresult
       WHERE date_done < $1
       ORDER BY date_done
       LIMIT $2
         FOR UPDATE SKIP LOCKED
    ), deleted AS (
      DELETE FROM django_celery_results_taskresult WHERE id IN (SELECT id FROM expired) RETURNING 1
    )
    SELECT count(*)::int AS count FROM deleted`;

  constructor(@InjectDataSource() private readonly database: DataSource) {}

  /**
   * Deletes every result done before `cutoff`, `batchSize` rows per statement, until a batch comes
   * back short or `signal` aborts (checked between batches). Resolves to how many rows went.
   */
  async deleteDoneBefore(cutoff: Date, batchSize: number, signal?: AbortSignal): Promise<number> {
    let total = 0;
    for (;;) {
      if (signal?.aborted) return total;
      const [{ count }] = await this.database.query<Array<{ count: number }>>(TaskResultCleaner.BATCH_SQL, [
        cutoff,
        batchSize,
      ]);
      total += count;
      if (count < batchSize) return total;
    }
  }
}
