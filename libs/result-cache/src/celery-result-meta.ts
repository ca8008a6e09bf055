import type { PythonValue } from './python-pickle';

/** A task's result as the cache holds it: what Celery's backend stores for it. */
export interface CachedResult {
  taskId: string;
  /** SUCCESS, FAILURE, REVOKED or STARTED. */
  status: string;
  /** The return value; for FAILURE and REVOKED the exception instance (Celery's pickle serializer keeps it). */
  result: PythonValue;
  traceback: string | null;
  /** When it became ready; null for STARTED (Celery's `date_done` is None until then). */
  doneAt: Date | null;
  /** With Celery's result_extended: what the task's request said. */
  extended?: ExtendedFields;
}

/** The fields `result_extended` adds, as `_get_result_meta` takes them from the request. */
export interface ExtendedFields {
  name: string | null;
  args: PythonValue;
  kwargs: PythonValue;
  worker: string;
  retries: number;
  queue: string | null;
}

/** Celery's `task_keyprefix`: django-celery-results' CacheBackend stores a task under this + its id. */
export const CELERY_TASK_KEY_PREFIX = 'celery-task-meta-';

/**
 * The meta dict `KeyValueStoreBackend._store_result` stores (`_get_result_meta` plus `task_id`),
 * keys in Celery's order. `children` is an empty list (a task with a request has one). Without
 * the extended fields `AsyncResult.name` and `.args` read None, as with Celery's default settings.
 */
export function celeryResultMeta(result: CachedResult): PythonValue {
  return {
    status: result.status,
    result: result.result,
    traceback: result.traceback,
    children: [],
    date_done: result.doneAt ? celeryDateDone(result.doneAt) : null,
    ...(result.extended ? { ...result.extended } : {}),
    task_id: result.taskId,
  };
}

/** `datetime.utcnow().isoformat()`: no zone, microseconds only when there are any. */
export function celeryDateDone(date: Date): string {
  const iso = date.toISOString().slice(0, -1); // without the Z
  return date.getUTCMilliseconds() === 0 ? iso.slice(0, -4) : `${iso}000`;
}

/** Django's default KEY_FUNCTION: `'%s:%s:%s' % (key_prefix, version, key)`. */
export function djangoCacheKey(prefix: string, version: number, key: string): string {
  return `${prefix}:${version}:${key}`;
}
