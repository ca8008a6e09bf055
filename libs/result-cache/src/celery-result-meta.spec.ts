import { celeryDateDone, celeryResultMeta, djangoCacheKey } from './celery-result-meta';
import { PythonException } from './python-pickle';

describe('celeryResultMeta', () => {
  it('holds the keys KeyValueStoreBackend._store_result stores, in its order', () => {
    const meta = celeryResultMeta({
      taskId: 'id-1',
      status: 'FAILURE',
      result: new PythonException('builtins', 'TypeError', ['boom']),
      traceback: 'builtins.TypeError: boom',
      doneAt: new Date('2026-12-02T16:45:01.120Z'),
    });
    expect(Object.keys(meta as object)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(meta).toMatchObject({ children: [], date_done: '2026-12-02T16:45:01.120000', task_id: 'id-1' });
  });

  it('holds the result_extended fields after date_done when given', () => {
    const extended = { name: 'n', args: [1], kwargs: {}, worker: 'w', retries: 0, queue: 'q' };
    const meta = celeryResultMeta({
      taskId: 'id',
      status: 'SUCCESS',
      result: 1,
      traceback: null,
      doneAt: null,
      extended,
    });
    expect(Object.keys(meta as object)).toEqual([
      'status',
      'result',
      'traceback',
      'children',
      'date_done',
      'name',
      'args',
      'kwargs',
      'worker',
      'retries',
      'queue',
      'task_id',
    ]);
  });

  it('has no date_done until the task is ready', () => {
    const meta = celeryResultMeta({ taskId: 'id', status: 'STARTED', result: {}, traceback: null, doneAt: null });
    expect(meta).toMatchObject({ date_done: null });
  });
});

describe('celeryDateDone', () => {
  it('writes datetime.isoformat(): microseconds only when there are any, no zone', () => {
    expect(celeryDateDone(new Date('2026-12-02T16:45:01.007Z'))).toBe('2026-12-02T16:45:01.007000');
    expect(celeryDateDone(new Date('2026-12-02T16:45:01.000Z'))).toBe('2026-12-02T16:45:01');
  });
});

describe('djangoCacheKey', () => {
  it("is Django's default key function: prefix:version:key", () => {
    expect(djangoCacheKey('', 1, 'celery-task-meta-x')).toBe(':1:celery-task-meta-x');
    expect(djangoCacheKey('proj', -2, 'k')).toBe('proj:-2:k');
  });
});
