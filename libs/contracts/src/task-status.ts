/** Celery's task states (`celery/states.py`), the values of `django_celery_results_taskresult.status`. */
export enum TaskStatus {
  Pending = 'PENDING',
  Received = 'RECEIVED',
  Started = 'STARTED',
  Success = 'SUCCESS',
  Failure = 'FAILURE',
  Revoked = 'REVOKED',
  Rejected = 'REJECTED',
  Retry = 'RETRY',
  Ignored = 'IGNORED',
}
