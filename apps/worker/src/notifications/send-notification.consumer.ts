import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, RmqContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageSettler, SEND_NOTIFICATION_PATTERN } from '../task-queue.server';
import { NotificationMessageDecoder } from './notification-message.decoder';
import { NotificationTaskProcessor } from './notification-task.processor';

/** Pause before a message that hit a transient fault goes back to the queue, so it does not spin. */
export const TRANSIENT_RETRY_DELAY_MS = 1000;

/** The queue's entry point: runs each message and settles it with the broker. */
@Controller()
export class SendNotificationConsumer {
  private readonly logger = new Logger(SendNotificationConsumer.name);

  constructor(
    private readonly decoder: NotificationMessageDecoder,
    private readonly processor: NotificationTaskProcessor,
  ) {}

  @EventPattern(SEND_NOTIFICATION_PATTERN)
  async consume(@Ctx() context: RmqContext): Promise<void> {
    const message = context.getMessage() as ConsumeMessage;
    const settler = context.getChannelRef() as MessageSettler;
    const receivedAt = new Date();
    const decoded = this.decoder.decode(message);
    const wait = decoded.ok && decoded.task.eta ? decoded.task.eta.getTime() - Date.now() : 0;
    if (wait > 0) {
      const closing = settler.defer(message);
      const due = await sleep(wait, true, { signal: closing }).catch(() => false);
      if (!due) return; // the worker is closing and has put the message back on the queue
    }
    try {
      const outcome = await this.processor.process(decoded, receivedAt);
      settler.ack(message);
      this.logger.log({ msg: 'Task done', taskId: outcome.taskId, status: outcome.status });
    } catch (error) {
      // Database or Redis unreachable: the message is fine, so it goes back to the queue intact.
      this.logger.error({ msg: 'Task failed transiently; requeueing', error: (error as Error).message });
      await sleep(TRANSIENT_RETRY_DELAY_MS);
      settler.nack(message, false, true);
    }
  }
}
