import type { ConsumeMessage, MessageProperties } from 'amqplib';
import { parseAppConfig } from '@app/config';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { NotificationMessageDecoder } from './notification-message.decoder';

function amqpMessage(body: string | object, properties: Partial<MessageProperties> = {}): ConsumeMessage {
  const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return { content, properties: { headers: {}, ...properties }, fields: {} } as unknown as ConsumeMessage;
}

describe('NotificationMessageDecoder', () => {
  const decoder = new NotificationMessageDecoder(
    new CeleryMessageDecoder(parseAppConfig({})),
    parseAppConfig({ MAX_MESSAGE_BYTES: '4096' }),
  );

  it('decodes a Nest message', () => {
    const decoded = decoder.decode(
      amqpMessage(
        { pattern: 'send_notification', data: { user_id: 42, message: { text: 'hi' } } },
        { messageId: 'task-1' },
      ),
    );
    expect(decoded).toEqual({
      ok: true,
      task: {
        taskId: 'task-1',
        taskName: 'send_notification',
        recipients: ['42'],
        listsRecipients: false,
        message: { text: 'hi' },
        messageJson: '{"text":"hi"}',
        taskArgs: '[]',
        taskKwargs: JSON.stringify({ user_id: 42, message: { text: 'hi' } }),
        args: [],
        kwargs: { user_id: 42, message: { text: 'hi' } },
        retries: 0,
        eta: null,
        expires: null,
      },
    });
  });

  it('decodes a plain JSON body with a string user id and any JSON message', () => {
    for (const message of ['text', 7, null, [1, 2], { nested: { deep: true } }]) {
      const decoded = decoder.decode(amqpMessage({ user_id: 'alice', message }, { contentType: 'application/json' }));
      expect(decoded).toMatchObject({ ok: true, task: { recipients: ['alice'], message } });
    }
  });

  it('takes the task id from message_id, then correlation_id, then task_id, else makes one', () => {
    const body = { user_id: 1, message: 'x', task_id: 'from-body' };
    expect(decoder.decode(amqpMessage(body, { messageId: 'mid', correlationId: 'cid' }))).toMatchObject({
      task: { taskId: 'mid' },
    });
    expect(decoder.decode(amqpMessage(body, { correlationId: 'cid' }))).toMatchObject({ task: { taskId: 'cid' } });
    expect(decoder.decode(amqpMessage(body))).toMatchObject({ task: { taskId: 'from-body' } });
    const made = decoder.decode(amqpMessage({ user_id: 1, message: 'x' }));
    expect(made.ok && made.task.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes a fresh id instead of using one longer than the column', () => {
    const decoded = decoder.decode(amqpMessage({ user_id: 1, message: 'x' }, { messageId: 'x'.repeat(256) }));
    expect(decoded.ok && decoded.task.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('takes no task id that holds %s, which Postgres would refuse or change', (_, id) => {
    expect(
      decoder.decode(amqpMessage({ user_id: 1, message: 'x' }, { messageId: id, correlationId: 'cid' })),
    ).toMatchObject({ task: { taskId: 'cid' } });
    const fromBody = decoder.decode(amqpMessage({ user_id: 1, message: 'x', task_id: id }));
    expect(fromBody.ok && fromBody.task.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a body nested deeper than the limit before parsing it, however small', () => {
    const deep = `{"user_id":1,"message":${'['.repeat(2000)}${']'.repeat(2000)}}`;
    expect(deep.length).toBeLessThan(4096);
    const decoded = decoder.decode(amqpMessage(deep, { messageId: 'deep' }));
    expect(decoded).toMatchObject({
      ok: false,
      rejection: { taskId: 'deep', excType: 'ValueError', reason: expect.stringMatching(/nests deeper than 64/) },
    });
  });

  it('answers with a rejection, never a throw, whatever the message object holds', () => {
    const broken = {
      content: Buffer.from('{}'),
      fields: {},
      properties: {
        messageId: 'odd',
        get headers(): never {
          throw new Error('bad headers');
        },
      },
    };
    expect(decoder.decode(broken as never)).toMatchObject({
      ok: false,
      rejection: { taskId: 'odd', excType: 'ValueError', reason: expect.stringContaining('bad headers') },
    });
  });

  it.each([
    [
      'a non-JSON content type',
      amqpMessage('x', { contentType: 'application/x-python-serialize' }),
      'ContentDisallowed',
      /application\/x-python-serialize/,
    ],
    ['a body that is not JSON', amqpMessage('{"user_id": 1,'), 'DecodeError', /not valid JSON/],
    ['a JSON array', amqpMessage([1, 'hi']), 'TypeError', /JSON object/],
    [
      'an unknown pattern',
      amqpMessage({ pattern: 'delete_everything', data: {} }),
      'NotRegistered',
      /delete_everything/,
    ],
    [
      'data that is not an object',
      amqpMessage({ pattern: 'send_notification', data: 'hi' }),
      'TypeError',
      /data must be a JSON object/,
    ],
    ['no user_id', amqpMessage({ message: 'hi' }), 'TypeError', /'user_id'/],
    ['an object user_id', amqpMessage({ user_id: { id: 1 }, message: 'hi' }), 'TypeError', /user_id must be/],
    [
      'a user_id that would break the group name',
      amqpMessage({ user_id: '1 2', message: 'hi' }),
      'TypeError',
      /user_id must be/,
    ],
    ['no message', amqpMessage({ user_id: 1 }), 'TypeError', /'message'/],
    [
      'a body over MAX_MESSAGE_BYTES',
      amqpMessage({ user_id: 1, message: 'x'.repeat(5000) }),
      'ValueError',
      /exceeds MAX_MESSAGE_BYTES \(4096\)/,
    ],
  ])('rejects %s', (_, message, excType, reason) => {
    const decoded = decoder.decode(message);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.rejection.excType).toBe(excType);
    expect(decoded.rejection.reason).toMatch(reason);
    expect(decoded.rejection.taskId).toBeTruthy();
  });

  it.each([
    ['a word', 'hello my secret body'],
    ['JSON cut short', '{"text": "my secret body'],
    ['JSON with more after it', '{"a": 1} my secret body'],
    ['a control character in a string', '{"a": "my secret\u0001body"}'],
  ])('describes %s that is not JSON without quoting the body', (_, body) => {
    const decoded = decoder.decode(amqpMessage(body));
    expect(decoded).toMatchObject({ ok: false, rejection: { excType: 'DecodeError', quotesMessage: false } });
    const { reason } = (decoded as { rejection: { reason: string } }).rejection;
    expect(reason).toMatch(/^Body is not valid JSON/);
    expect(reason).not.toMatch(/secret|hello|my /);
  });

  it('marks the reasons that quote what the publisher sent, so they are logged at debug only', () => {
    const unknownPattern = decoder.decode(amqpMessage({ pattern: 'my secret pattern', data: {} }));
    expect(unknownPattern).toMatchObject({ ok: false, rejection: { quotesMessage: true } });
    const noUserId = decoder.decode(amqpMessage({ message: 'my secret' }));
    expect(noUserId).toMatchObject({ ok: false, rejection: { quotesMessage: false } });
    expect(JSON.stringify(noUserId)).not.toContain('my secret');
  });

  it('keeps the task id of a rejected message when it has one', () => {
    const decoded = decoder.decode(amqpMessage('nope', { correlationId: 'bad-1' }));
    expect(!decoded.ok && decoded.rejection.taskId).toBe('bad-1');
  });

  describe('user_ids: one task for a list of users', () => {
    const listDecoder = new NotificationMessageDecoder(
      new CeleryMessageDecoder(parseAppConfig({})),
      parseAppConfig({ MAX_RECIPIENTS: '3', MAX_MESSAGE_BYTES: String(1024 * 1024) }),
    );

    it('decodes a plain or Nest body naming its users as a list, in their canonical form and order', () => {
      const data = { user_ids: [7, 'bob', 0], message: { text: 'hi' } };
      for (const body of [data, { pattern: 'send_notification', data }]) {
        expect(listDecoder.decode(amqpMessage(body, { messageId: 'list-1' }))).toMatchObject({
          ok: true,
          task: {
            taskId: 'list-1',
            recipients: ['7', 'bob', '0'],
            listsRecipients: true,
            messageJson: '{"text":"hi"}',
            taskKwargs: JSON.stringify(data),
            kwargs: data,
          },
        });
      }
    });

    it.each([
      [
        'both user_id and user_ids',
        { user_id: 1, user_ids: [1] },
        'send_notification() takes user_id or user_ids, not both',
      ],
      ['an empty list', { user_ids: [] }, 'user_ids must not be empty'],
      [
        'more users than MAX_RECIPIENTS',
        { user_ids: [1, 2, 3, 4] },
        'user_ids lists 4 users; at most 3 (MAX_RECIPIENTS)',
      ],
      ['a list that is not an array', { user_ids: '1,2' }, 'user_ids must be a list of 1 to 3 user ids'],
      ['an object for a list', { user_ids: { 0: 1 } }, 'user_ids must be a list of 1 to 3 user ids'],
      ['a user id that breaks the rules', { user_ids: [1, 'a b'] }, /^user_ids\[1\] must be a non-negative integer/],
      ['nested garbage', { user_ids: [[1], { id: 2 }] }, /^user_ids\[0\] must be/],
      ['a negative id', { user_ids: [-1] }, /^user_ids\[0\] must be/],
      ['a user twice', { user_ids: [5, 6, 5] }, 'user_ids[2] repeats user 5 (user_ids[0])'],
      ['a user twice, as number and as string', { user_ids: ['5', 5] }, 'user_ids[1] repeats user 5 (user_ids[0])'],
    ])('rejects %s with the reason, quoting nothing it refused', (_, payload, reason) => {
      const decoded = listDecoder.decode(amqpMessage({ ...payload, message: 'm' }, { messageId: 'bad-list' }));
      expect(decoded).toMatchObject({
        ok: false,
        rejection: { taskId: 'bad-list', excType: 'TypeError', taskName: 'send_notification', quotesMessage: false },
      });
      expect(!decoded.ok && decoded.rejection.reason).toEqual(
        typeof reason === 'string' ? reason : expect.stringMatching(reason),
      );
    });

    it('refuses a huge list by its length without looking at each id', () => {
      const huge = Array.from({ length: 100_000 }, () => 'x y');
      const decoded = listDecoder.decode(amqpMessage({ user_ids: huge, message: 'm' }));
      expect(!decoded.ok && decoded.rejection.reason).toBe('user_ids lists 100000 users; at most 3 (MAX_RECIPIENTS)');
    });
  });
});
