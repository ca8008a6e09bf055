import { parseAppConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import type { ConsumeMessage } from 'amqplib';
import { TaskActivity } from '../celery-node/task-activity';
import type { RevokedTasks } from '../control/revoked-tasks';
import { ATTEMPTS_HEADER, MessageSettler, TaskQueueContext } from '../task-queue.server';
import type { DeferredTasks } from './deferred-tasks';
import type { NotificationMessageDecoder } from './notification-message.decoder';
import type { NotificationTaskProcessor } from './notification-task.processor';
import { SendNotificationConsumer, TASK_ID_CONFLICT } from './send-notification.consumer';
import { TaskMetrics } from './task-metrics';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

function setUp(
  processor: Partial<Record<keyof NotificationTaskProcessor, jest.Mock>>,
  config: Record<string, string> = {},
) {
  const decoder = { decode: () => ({ ok: true, task: { taskId: 't', taskName: 'send_notification', eta: null } }) };
  const deferred = { holdUntilDue: async () => 'due' };
  const consumer = new SendNotificationConsumer(
    decoder as unknown as NotificationMessageDecoder,
    processor as unknown as NotificationTaskProcessor,
    deferred as unknown as DeferredTasks,
    parseAppConfig(config),
    new TaskMetrics(new MetricsRegistry('test')),
    new TaskActivity(parseAppConfig(config)),
    { isRevoked: async () => false } as unknown as RevokedTasks,
  );
  const closing = new AbortController();
  const settler = {
    requeue: jest.fn(),
    ack: jest.fn(),
    retry: jest.fn(),
    deadLetter: jest.fn(),
    defer: jest.fn(),
    closing: closing.signal,
  } satisfies MessageSettler;
  const message = (headers: Record<string, unknown> = {}) =>
    ({ content: Buffer.from('{}'), properties: { headers }, fields: {} }) as unknown as ConsumeMessage;
  const consume = (delivered = message()) => consumer.consume(new TaskQueueContext(delivered, settler));
  return { consumer, settler, message, consume, closing };
}

describe('SendNotificationConsumer', () => {
  it('backs off by how long the outage has lasted, not by how many messages failed in it', async () => {
    const { settler, consume, message } = setUp({ process: jest.fn().mockRejectedValue(refused()) });
    // A whole prefetch window fails at once, as when Postgres goes away under a busy worker.
    const started = Date.now();
    const delivered = message();
    await Promise.all(Array.from({ length: 32 }, () => consume(delivered)));
    expect(settler.requeue).toHaveBeenCalledTimes(32);
    expect(settler.requeue).toHaveBeenCalledWith(delivered);
    expect(Date.now() - started).toBeLessThan(2000); // each waited ~0.5 s, not up to 30 s
  });

  it('cuts the backoff short when the worker starts closing', async () => {
    const { settler, consume, closing } = setUp({ process: jest.fn().mockRejectedValue(refused()) });
    await consume(); // the outage starts: 0.5 s
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2000)); // the outage has lasted 2 s: the next wait is 1.5-3 s
    const waiting = consume();
    setTimeout(() => closing.abort(), 100);
    await waiting;
    expect(settler.requeue).toHaveBeenCalledTimes(2);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('counts failed attempts in a header of the message, so that no worker has to remember them', async () => {
    const { settler, consume, message } = setUp(
      { process: jest.fn().mockRejectedValue(new Error('boom')), recordFailure: jest.fn() },
      { TASK_MAX_ATTEMPTS: '3' },
    );
    await consume(message());
    expect(settler.retry).toHaveBeenLastCalledWith(expect.anything(), 1);
    await consume(message({ [ATTEMPTS_HEADER]: 1 }));
    expect(settler.retry).toHaveBeenLastCalledWith(expect.anything(), 2);
    expect(settler.deadLetter).not.toHaveBeenCalled();
    await consume(message({ [ATTEMPTS_HEADER]: 2 }));
    expect(settler.retry).toHaveBeenCalledTimes(2);
    expect(settler.deadLetter).toHaveBeenCalledWith(expect.anything(), 'Error: boom');
  });

  it('keeps a failed task on the queue while its FAILURE row cannot be written', async () => {
    const recordFailure = jest.fn().mockRejectedValue(refused());
    const { settler, consume, message } = setUp(
      { process: jest.fn().mockRejectedValue(new Error('boom')), recordFailure },
      { TASK_MAX_ATTEMPTS: '1' },
    );
    await consume(message());
    expect(recordFailure).toHaveBeenCalled();
    expect(settler.deadLetter).not.toHaveBeenCalled();
    expect(settler.requeue).toHaveBeenCalledTimes(1);
  });

  it('dead-letters a task id conflict with its own reason and acks nothing', async () => {
    const { settler, consume } = setUp({ process: jest.fn().mockResolvedValue({ status: 'conflict', taskId: 't' }) });
    await consume();
    expect(settler.deadLetter).toHaveBeenCalledWith(expect.anything(), TASK_ID_CONFLICT);
    expect(settler.ack).not.toHaveBeenCalled();
  });

  it('still settles a message when something it calls throws a non-Error', async () => {
    const { settler, consume } = setUp(
      { process: jest.fn().mockRejectedValue('a string'), recordFailure: jest.fn() },
      { TASK_MAX_ATTEMPTS: '1' },
    );
    await consume();
    expect(settler.deadLetter).toHaveBeenCalledWith(expect.anything(), 'Error: a string');
  });
});
