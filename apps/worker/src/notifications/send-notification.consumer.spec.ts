import { parseAppConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { RmqContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { MessageSettler } from '../task-queue.server';
import type { NotificationMessageDecoder } from './notification-message.decoder';
import type { NotificationTaskProcessor } from './notification-task.processor';
import { SendNotificationConsumer } from './send-notification.consumer';
import { TaskMetrics } from './task-metrics';

describe('SendNotificationConsumer', () => {
  it('backs off by how long the outage has lasted, not by how many messages failed in it', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const decoder = { decode: () => ({ ok: true, task: { taskId: 't', taskName: 'send_notification' } }) };
    const processor = { process: jest.fn().mockRejectedValue(refused) };
    const consumer = new SendNotificationConsumer(
      decoder as unknown as NotificationMessageDecoder,
      processor as unknown as NotificationTaskProcessor,
      parseAppConfig({}),
      new TaskMetrics(new MetricsRegistry('test')),
    );
    const settler = { requeue: jest.fn(), ack: jest.fn(), deadLetter: jest.fn(), defer: jest.fn() } satisfies MessageSettler;
    const message = { content: Buffer.from('{}'), properties: { headers: {} }, fields: {} } as unknown as ConsumeMessage;

    // A whole prefetch window fails at once, as when Postgres goes away under a busy worker.
    const started = Date.now();
    await Promise.all(Array.from({ length: 32 }, () => consumer.consume(new RmqContext([message, settler, 'send_notification']))));
    expect(settler.requeue).toHaveBeenCalledTimes(32);
    expect(settler.requeue).toHaveBeenCalledWith(message);
    expect(Date.now() - started).toBeLessThan(2000); // each waited ~0.5 s, not up to 30 s
  });
});
