import { parseAppConfig } from '@app/config';
import type { ConsumeMessage } from 'amqplib';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { NotificationMessageDecoder } from './notification-message.decoder';

/** A message as `send_notification_task.delay(42, 'hi')` publishes it (Celery 5, protocol v2, JSON). */
function celeryMessage(
  overrides: { headers?: Record<string, unknown>; body?: unknown; contentType?: string } = {},
): ConsumeMessage {
  const headers = {
    lang: 'py',
    task: 'notifications.tasks.send_notification_task',
    id: 'c0ffee00-0000-4000-8000-000000000001',
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: 'c0ffee00-0000-4000-8000-000000000001',
    parent_id: null,
    argsrepr: "(42, 'hi')",
    kwargsrepr: '{}',
    origin: 'gen1@host',
    ignore_result: false,
    ...overrides.headers,
  };
  const body = overrides.body ?? [[42, 'hi'], {}, { callbacks: null, errbacks: null, chain: null, chord: null }];
  return {
    content: Buffer.from(JSON.stringify(body)),
    properties: {
      contentType: overrides.contentType ?? 'application/json',
      contentEncoding: 'utf-8',
      correlationId: headers.id,
      replyTo: 'reply-uuid',
      deliveryMode: 2,
      priority: 0,
      headers,
    },
    fields: { routingKey: 'send_notification' },
  } as unknown as ConsumeMessage;
}

describe('Celery protocol v2 messages', () => {
  const decoder = new NotificationMessageDecoder(
    new CeleryMessageDecoder(parseAppConfig({})),
    parseAppConfig({ MAX_MESSAGE_BYTES: '4096' }),
  );

  it('decodes send_notification_task.delay(42, "hi")', () => {
    expect(decoder.decode(celeryMessage())).toEqual({
      ok: true,
      task: {
        taskId: 'c0ffee00-0000-4000-8000-000000000001',
        taskName: 'notifications.tasks.send_notification_task',
        recipients: ['42'],
        listsRecipients: false,
        message: 'hi',
        messageJson: '"hi"',
        taskArgs: JSON.stringify("(42, 'hi')"),
        taskKwargs: JSON.stringify('{}'),
        args: [42, 'hi'],
        kwargs: {},
        retries: 0,
        eta: null,
        expires: null,
      },
    });
  });

  it('binds keyword arguments', () => {
    const decoded = decoder.decode(celeryMessage({ body: [[], { user_id: 'bob', message: { n: 1 } }, {}] }));
    expect(decoded).toMatchObject({ ok: true, task: { recipients: ['bob'], message: { n: 1 } } });
  });

  it('reads eta and expires as Celery writes them', () => {
    const decoded = decoder.decode(
      celeryMessage({ headers: { eta: '2030-01-02T03:04:05.123456+00:00', expires: '2030-01-02T04:00:00+00:00' } }),
    );
    expect(decoded.ok && decoded.task.eta?.toISOString()).toBe('2030-01-02T03:04:05.123Z');
    expect(decoded.ok && decoded.task.expires?.toISOString()).toBe('2030-01-02T04:00:00.000Z');
  });

  it.each([
    ['an unregistered task', { headers: { task: 'billing.tasks.charge' } }, 'NotRegistered', 'billing.tasks.charge'],
    [
      'a name that only contains the task name',
      { headers: { task: 'x.send_notification_task_v2' } },
      'NotRegistered',
      'x.send_notification_task_v2',
    ],
    [
      'a pickled body',
      { contentType: 'application/x-python-serialize' },
      'ContentDisallowed',
      'application/x-python-serialize',
    ],
    ['a yaml body', { contentType: 'application/x-yaml' }, 'ContentDisallowed', 'application/x-yaml'],
    [
      'too many arguments',
      { body: [[1, 'a', 'b'], {}, {}] },
      'TypeError',
      'takes 2 positional arguments but 3 were given',
    ],
    ['a missing argument', { body: [[1], {}, {}] }, 'TypeError', "missing 1 required positional argument: 'message'"],
    [
      'a body that is not [args, kwargs, embed]',
      { body: { user_id: 1, message: 'x' } },
      'TypeError',
      '[args, kwargs, embed]',
    ],
    ['an eta that is no date', { headers: { eta: 'tomorrow' } }, 'ValueError', 'eta'],
  ])('rejects %s, keeping the task id and name', (_, overrides, excType, reason) => {
    const decoded = decoder.decode(celeryMessage(overrides));
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.rejection).toMatchObject({ taskId: 'c0ffee00-0000-4000-8000-000000000001', excType });
    expect(decoded.rejection.reason).toContain(reason);
  });

  it('records an overlong unregistered task name cut to the column, so the FAILURE row can be written', () => {
    const decoded = decoder.decode(celeryMessage({ headers: { task: 'x'.repeat(400) } }));
    expect(!decoded.ok && decoded.rejection).toMatchObject({ excType: 'NotRegistered', taskName: 'x'.repeat(255) });
  });

  it('serves the task names configured', () => {
    const custom = new CeleryMessageDecoder(parseAppConfig({ CELERY_TASK_NAMES: 'app.notify, *.push' }));
    expect(['app.notify', 'a.b.push'].map((name) => custom.serves(name))).toEqual([true, true]);
    expect(['notifications.tasks.send_notification_task', 'app.notify2'].map((name) => custom.serves(name))).toEqual([
      false,
      false,
    ]);
  });
});
