import type { MessageProperties } from 'amqplib';
import { republishedProperties } from './task-queue';

describe('republishedProperties', () => {
  const consumed: MessageProperties = {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: 't1', task: 'x' },
    deliveryMode: 1,
    priority: 3,
    correlationId: 'c1',
    replyTo: 'r1',
    expiration: '5000',
    messageId: 'm1',
    timestamp: 1700000000,
    type: 'task',
    userId: 'celery',
    appId: 'app',
    clusterId: undefined,
  };

  it('keeps what identifies and describes the message, persistent', () => {
    expect(republishedProperties(consumed)).toEqual({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      headers: { id: 't1', task: 'x' },
      priority: 3,
      correlationId: 'c1',
      replyTo: 'r1',
      messageId: 'm1',
      timestamp: 1700000000,
      type: 'task',
      appId: 'app',
      persistent: true,
    });
  });

  it('drops expiration (the copy would expire unseen) and user_id (the broker refuses another user’s and closes the channel)', () => {
    const copy = republishedProperties(consumed, { extra: 1 });
    expect(copy).not.toHaveProperty('expiration');
    expect(copy).not.toHaveProperty('userId');
    expect(copy.headers).toEqual({ extra: 1 });
  });
});
