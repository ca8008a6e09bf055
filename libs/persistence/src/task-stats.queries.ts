import { Injectable } from '@nestjs/common';
import { LagTolerantReads } from './lag-tolerant-reads';
import { TaskResult } from './task-result.entity';

export interface StatusCountsByMinute {
  /** The start of the minute. */
  minute: Date;
  status: string;
  count: number;
}

export interface TaskLatency {
  /** Tasks finished in the window whose latency counts (`date_done - date_created`). */
  count: number;
  avgMs: number | null;
  p95Ms: number | null;
}

export interface RecentTaskFilter {
  status?: string;
  /** A substring of `task_name`, any case. */
  name?: string;
  /**
   * A substring, any case, of `task_kwargs` or `task_args`: the plain messages' kwargs hold
   * `{"user_id":42,...}`, a Celery task's args its `argsrepr`, e.g. `(42, {...})`.
   */
  user?: string;
  limit: number;
}

/**
 * Read-only queries over `django_celery_results_taskresult` for the admin dashboard: counts by
 * status per minute, latency, and the most recent tasks with loose filters. Uses the indexes
 * django-celery-results creates (`date_done`, `status`, `task_name`).
 */
@Injectable()
export class TaskStatsQueries {
  constructor(private readonly lagTolerant: LagTolerantReads) {}

  async countsByMinute(since: Date): Promise<StatusCountsByMinute[]> {
    const rows: Array<{ minute: Date; status: string; count: number }> = await this.lagTolerant.run((db) =>
      db.query(
        `SELECT date_trunc('minute', date_done) AS minute, status, count(*)::int AS count
           FROM django_celery_results_taskresult
          WHERE date_done >= $1
          GROUP BY 1, 2
          ORDER BY 1, 2`,
        [since],
      ),
    );
    return rows.map((row) => ({ minute: new Date(row.minute), status: row.status, count: Number(row.count) }));
  }

  /** From receipt (`date_created`) to result (`date_done`), for the tasks finished since `since`. */
  async latency(since: Date): Promise<TaskLatency> {
    const [row]: Array<{ count: number; avg_ms: number | null; p95_ms: number | null }> = await this.lagTolerant.run(
      (db) =>
        db.query(
          `SELECT count(*)::int AS count,
                  avg(extract(epoch FROM date_done - date_created) * 1000)::float8 AS avg_ms,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM date_done - date_created) * 1000)::float8 AS p95_ms
             FROM django_celery_results_taskresult
            WHERE date_done >= $1 AND date_done >= date_created`,
          [since],
        ),
    );
    return {
      count: Number(row.count),
      avgMs: row.avg_ms === null ? null : Number(row.avg_ms),
      p95Ms: row.p95_ms === null ? null : Number(row.p95_ms),
    };
  }

  /** The most recently finished tasks matching the filter, newest first. */
  recent(filter: RecentTaskFilter): Promise<TaskResult[]> {
    return this.lagTolerant.run((db) => {
      const query = db.getRepository(TaskResult).createQueryBuilder('task');
      if (filter.status) query.andWhere('task.status = :status', { status: filter.status });
      if (filter.name)
        query.andWhere(`task.task_name ILIKE :name ESCAPE '\\'`, { name: `%${escapeLike(filter.name)}%` });
      if (filter.user) {
        query.andWhere(`(task.task_kwargs ILIKE :user ESCAPE '\\' OR task.task_args ILIKE :user ESCAPE '\\')`, {
          user: `%${escapeLike(filter.user)}%`,
        });
      }
      return query.orderBy('task.dateDone', 'DESC').addOrderBy('task.id', 'DESC').take(filter.limit).getMany();
    });
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
