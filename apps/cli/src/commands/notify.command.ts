import type { AmqpConfig } from '@app/config';
import { normalizeUserId } from '@app/contracts';
import { NotificationPublisher } from '@app/publishing';
import { UsageError } from '../cli-errors';

/** The message argument as JSON when it parses as JSON, else as the text it is. */
export function parseMessage(argument: string): unknown {
  try {
    return JSON.parse(argument);
  } catch {
    return argument;
  }
}

/** Publishes one notification to `AMQP_QUEUE` and resolves to its task id once the broker confirmed it. */
export async function notify(
  config: AmqpConfig,
  userIdArgument: string,
  messageArgument: string,
  options: { taskId?: string },
): Promise<string> {
  // Digits are sent as a number, as Django sends its integer primary keys.
  const userId = /^\d+$/.test(userIdArgument) ? Number(userIdArgument) : userIdArgument;
  if (normalizeUserId(userId) === null)
    throw new UsageError(`user_id ${JSON.stringify(userIdArgument)} is not a valid user id`);
  if (options.taskId !== undefined && (options.taskId.length === 0 || options.taskId.length > 255))
    throw new UsageError('--task-id must be 1-255 characters');
  const publisher = new NotificationPublisher({
    url: config.AMQP_URL,
    queue: config.AMQP_QUEUE,
    queueType: config.AMQP_QUEUE_TYPE,
    timeoutMs: 10_000,
  });
  try {
    return await publisher.publish({ userId, message: parseMessage(messageArgument), taskId: options.taskId });
  } finally {
    await publisher.close();
  }
}
