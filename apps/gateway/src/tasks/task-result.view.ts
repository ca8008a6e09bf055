import type { TaskResult } from '@app/persistence';

/** A task result as the REST API shows it: django-celery-results' field names, JSON fields parsed. */
export interface TaskResultView {
  task_id: string;
  status: string;
  task_name: string | null;
  worker: string | null;
  result: unknown;
  traceback: string | null;
  meta: unknown;
  task_args: string | null;
  task_kwargs: string | null;
  content_type: string;
  content_encoding: string;
  periodic_task_name: string | null;
  date_created: string;
  date_started: string | null;
  date_done: string;
}

export function toTaskResultView(row: TaskResult): TaskResultView {
  const json = row.contentType === 'application/json';
  return {
    task_id: row.taskId,
    status: row.status,
    task_name: row.taskName,
    worker: row.worker,
    result: json ? parseJson(row.result) : row.result,
    traceback: row.traceback,
    meta: parseJson(row.meta),
    task_args: row.taskArgs,
    task_kwargs: row.taskKwargs,
    content_type: row.contentType,
    content_encoding: row.contentEncoding,
    periodic_task_name: row.periodicTaskName,
    date_created: row.dateCreated.toISOString(),
    date_started: row.dateStarted?.toISOString() ?? null,
    date_done: row.dateDone.toISOString(),
  };
}

/** Rows written by other tools may hold text that is not JSON; show it as it is rather than fail. */
function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
