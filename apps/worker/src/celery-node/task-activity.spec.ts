import { parseAppConfig } from '@app/config';
import { KnownTask, TaskActivity } from './task-activity';

const task = (taskId: string): KnownTask => ({
  taskId,
  taskName: 'notifications.tasks.send_notification_task',
  argsRepr: "(1, 'hi')",
  kwargsRepr: '{}',
  eta: null,
  expires: null,
  retries: 0,
  rootId: null,
  parentId: null,
  delivery: { exchange: '', routingKey: 'send_notification', priority: 0, redelivered: false },
});

describe('TaskActivity', () => {
  function setUp() {
    const activity = new TaskActivity(parseAppConfig({ WORKER_NAME: 'celery@test' }));
    const events: Array<[string, Record<string, unknown>]> = [];
    activity.onEvent((type, fields) => events.push([type, fields()]));
    return { activity, events };
  }

  it('reports a run as Celery events: received, started, succeeded with its result repr and runtime', () => {
    const { activity, events } = setUp();
    activity.received(task('a'));
    activity.started(task('a'));
    expect(activity.active().map((run) => run.task.taskId)).toEqual(['a']);
    activity.ended('a', { status: 'SUCCESS', result: { notification_id: 1 } });
    expect(events.map(([type]) => type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(events[0][1]).toMatchObject({ uuid: 'a', name: task('a').taskName, args: "(1, 'hi')", root_id: 'a' });
    expect(events[2][1]).toEqual({ uuid: 'a', result: "{'notification_id': 1}", runtime: expect.any(Number) });
    expect(activity.active()).toEqual([]);
    expect(activity.processed).toBe(1);
    expect(activity.totalsByName()).toEqual({ [task('a').taskName]: 1 });
  });

  it('lists a task held for its eta until it is released', () => {
    const { activity } = setUp();
    activity.holding(task('b'));
    expect(activity.scheduled().map((held) => held.taskId)).toEqual(['b']);
    activity.released('b');
    expect(activity.scheduled()).toEqual([]);
  });

  it.each([
    [{ status: 'REVOKED', expired: true } as const, 'task-revoked', { terminated: false, signum: null, expired: true }],
    [
      { status: 'FAILURE', exception: "TypeError('x')", traceback: 'tb' } as const,
      'task-failed',
      { exception: "TypeError('x')" },
    ],
    [{ status: 'REJECTED' } as const, 'task-rejected', { requeue: false }],
  ])('reports %j as %s', (end, type, fields) => {
    const { activity, events } = setUp();
    activity.ended('c', end);
    expect(events).toEqual([[type, expect.objectContaining({ uuid: 'c', ...fields })]]);
  });

  it('forgets an abandoned run without an event or a count', () => {
    const { activity, events } = setUp();
    activity.started(task('d'));
    activity.abandoned('d');
    expect(activity.active()).toEqual([]);
    expect(activity.processed).toBe(0);
    expect(events.map(([type]) => type)).toEqual(['task-started']);
  });
});
