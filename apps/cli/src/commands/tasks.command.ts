import type { DatabaseConfig } from '@app/config';
import { TaskStatus } from '@app/contracts';
import { Client } from 'pg';
import { UsageError } from '../cli-errors';

export interface TasksOptions {
  status?: string;
  limit: string;
}

const MAX_LIMIT = 500;

/** The most recent task results (by date_done), one per line, tab-separated under a header. */
export async function listTasks(config: DatabaseConfig, options: TasksOptions): Promise<string> {
  const statuses = Object.values(TaskStatus) as string[];
  if (options.status !== undefined && !statuses.includes(options.status))
    throw new UsageError(`--status must be one of ${statuses.join(', ')}`);
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new UsageError(`--limit must be an integer from 1 to ${MAX_LIMIT}`);

  const db = new Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 10_000 });
  await db.connect();
  try {
    const { rows } = await db.query<{
      task_id: string;
      status: string;
      task_name: string | null;
      worker: string | null;
      date_done: Date;
    }>(
      `SELECT task_id, status, task_name, worker, date_done FROM django_celery_results_taskresult
        WHERE $1::varchar IS NULL OR status = $1 ORDER BY date_done DESC, id DESC LIMIT $2`,
      [options.status ?? null, limit],
    );
    const lines = rows.map((row) =>
      [row.date_done.toISOString(), row.status, row.task_id, row.task_name ?? '', row.worker ?? ''].join('\t'),
    );
    return ['date_done\tstatus\ttask_id\ttask_name\tworker', ...lines].join('\n');
  } finally {
    await db.end();
  }
}
