import type { ConsumeMessage } from 'amqplib';
import { parseAppConfig } from '@app/config';
import { CeleryMessageDecoder } from './celery-message.decoder';
import { NotificationMessageDecoder } from './notification-message.decoder';

function amqpMessage(body: unknown, messageId?: string): ConsumeMessage {
  const content = Buffer.from(JSON.stringify(body));
  return { content, properties: { headers: {}, messageId }, fields: {} } as unknown as ConsumeMessage;
}

describe('broadcast messages (plain and Nest bodies)', () => {
  const decoder = new NotificationMessageDecoder(
    new CeleryMessageDecoder(parseAppConfig({})),
    parseAppConfig({ MAX_MESSAGE_BYTES: '4096' }),
  );

  it('decodes {"broadcast": true, "message": ...} as a broadcast task, in either form', () => {
    for (const body of [
      { broadcast: true, message: { text: 'maintenance' } },
      { pattern: 'send_notification', data: { broadcast: true, message: { text: 'maintenance' } } },
    ]) {
      expect(decoder.decode(amqpMessage(body, 'b-1'))).toEqual({
        ok: true,
        task: {
          taskId: 'b-1',
          taskName: 'send_notification',
          broadcast: true,
          message: { text: 'maintenance' },
          messageJson: '{"text":"maintenance"}',
          taskArgs: '[]',
          taskKwargs: '{"broadcast":true,"message":{"text":"maintenance"}}',
          args: [],
          kwargs: { broadcast: true, message: { text: 'maintenance' } },
          retries: 0,
          eta: null,
          expires: null,
        },
      });
    }
  });

  it.each([
    ['broadcast false', { broadcast: false, message: 'x' }, 'broadcast must be true'],
    ['broadcast "yes"', { broadcast: 'yes', message: 'x' }, 'broadcast must be true'],
    ['a user_id too', { broadcast: true, user_id: 1, message: 'x' }, 'takes no user_id or user_ids'],
    ['user_ids too', { broadcast: true, user_ids: [1], message: 'x' }, 'takes no user_id or user_ids'],
    ['no message', { broadcast: true }, "missing required argument: 'message'"],
  ])('rejects %s as a TypeError saying why, keeping the task id', (_, body, reason) => {
    expect(decoder.decode(amqpMessage(body, 'b-2'))).toEqual({
      ok: false,
      rejection: expect.objectContaining({
        taskId: 'b-2',
        excType: 'TypeError',
        reason: expect.stringContaining(reason),
      }),
    });
  });

  it('holds a broadcast to the same size and depth limits as any body', () => {
    const deep = { broadcast: true, message: JSON.parse('['.repeat(64) + ']'.repeat(64)) as unknown };
    expect(decoder.decode(amqpMessage(deep))).toMatchObject({
      ok: false,
      rejection: { reason: 'Message body nests deeper than 64 levels' },
    });
    const big = { broadcast: true, message: 'x'.repeat(5000) };
    expect(decoder.decode(amqpMessage(big))).toMatchObject({
      ok: false,
      rejection: { reason: expect.stringContaining('exceeds MAX_MESSAGE_BYTES') },
    });
  });
});
