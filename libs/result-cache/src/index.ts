export type { CachedResult, ExtendedFields } from './celery-result-meta';
export { CELERY_TASK_KEY_PREFIX, celeryDateDone, celeryResultMeta, djangoCacheKey } from './celery-result-meta';
export type { PythonValue } from './python-pickle';
export { PythonDict, PythonException, PythonFloat, PythonTuple, pickleDumps } from './python-pickle';
export { ResultCacheModule } from './result-cache.module';
export { ResultCacheWriter } from './result-cache.writer';
