import { randomUUID } from 'node:crypto';
import { TestPublisher, testConfig } from '@test/support/test-context';
import { DeadLetterQueue } from './dead-letter-queue';
import { deadLetterQueueOf } from './task-queue';

describe('DeadLetterQueue (real RabbitMQ)', () => {
  const config = testConfig();
  const dead = deadLetterQueueOf(config.AMQP_QUEUE);
  const queue = new DeadLetterQueue(config.AMQP_URL, config.AMQP_QUEUE);
  let publisher: TestPublisher;
  const ids = [randomUUID(), randomUUID(), randomUUID()];

  const deadLetter = (taskId: string, body: string, extra: Record<string, unknown> = {}) =>
    publisher.publish(dead, body, {
      messageId: taskId,
      contentType: 'application/json',
      headers: {
        keep: 'me',
        'x-dead-letter-reason': `TypeError: bad ${taskId}`,
        'x-original-queue': config.AMQP_QUEUE,
        'x-dead-lettered-at': '2026-12-02T10:00:00.000Z',
        'x-notify-attempts': 3,
        ...extra,
      },
    });

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    await publisher.declare(config.AMQP_QUEUE);
    await publisher.declareDeadLetterQueue(config.AMQP_QUEUE);
  });

  beforeEach(async () => {
    await publisher.purge(dead);
    await publisher.purge(config.AMQP_QUEUE);
    for (const [i, id] of ids.entries()) await deadLetter(id, JSON.stringify({ user_id: i, message: `secret ${i}` }));
  });

  afterAll(async () => {
    await publisher.deleteQueue(dead);
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.close();
  });

  it('lists without consuming: the same messages, in the same order, every time; bodies only when revealed', async () => {
    const first = await queue.list(10, false);
    expect(first.total).toBe(3);
    expect(first.messages.map((m) => m.id)).toEqual(ids);
    expect(first.messages[0]).toEqual({
      id: ids[0],
      taskId: ids[0],
      reason: `TypeError: bad ${ids[0]}`,
      originalQueue: config.AMQP_QUEUE,
      deadLetteredAt: '2026-12-02T10:00:00.000Z',
      attempts: 3,
      format: 'json',
      contentType: 'application/json',
      size: Buffer.byteLength(JSON.stringify({ user_id: 0, message: 'secret 0' })),
      preview: null,
    });
    expect(JSON.stringify(first)).not.toContain('secret');
    const again = await queue.list(2, true);
    expect(again.messages.map((m) => m.id)).toEqual(ids.slice(0, 2));
    expect(again.messages[1].preview).toBe(JSON.stringify({ user_id: 1, message: 'secret 1' }));
    expect(await publisher.messageCount(dead)).toBe(3);
  });

  it('requeues one message to the task queue with its task id and its own headers, not the dead-letter ones', async () => {
    expect(await queue.requeue({ ids: [ids[1], 'no-such-id'] })).toEqual({ done: [ids[1]], notFound: ['no-such-id'] });
    const requeued = await publisher.get(config.AMQP_QUEUE);
    if (!requeued) throw new Error('nothing was requeued');
    expect(requeued.properties.messageId).toBe(ids[1]);
    expect(requeued.properties.headers).toEqual({ keep: 'me' });
    expect(JSON.parse(requeued.content.toString())).toEqual({ user_id: 1, message: 'secret 1' });
    expect((await queue.list(10, false)).messages.map((m) => m.id)).toEqual([ids[0], ids[2]]);
  });

  it('requeues all, and discards a selection for good', async () => {
    expect((await queue.discard({ ids: [ids[0]] })).done).toEqual([ids[0]]);
    expect((await queue.requeue({ all: true })).done).toEqual([ids[1], ids[2]]);
    expect(await publisher.messageCount(dead)).toBe(0);
    expect(await publisher.messageCount(config.AMQP_QUEUE)).toBe(2);
  });

  it('names a message without any task id by its body, and runs concurrent operations one after another', async () => {
    await publisher.publish(dead, 'not json at all');
    const [listed, discarded] = await Promise.all([queue.list(10, false), queue.list(10, false)]);
    expect(listed.messages).toHaveLength(4);
    expect(discarded.messages).toHaveLength(4);
    const anonymous = listed.messages[3];
    expect(anonymous).toMatchObject({
      taskId: null,
      format: 'not-json',
      id: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
    });
    expect((await queue.discard({ ids: [anonymous.id] })).done).toEqual([anonymous.id]);
    expect(await publisher.messageCount(dead)).toBe(3);
  });
});
