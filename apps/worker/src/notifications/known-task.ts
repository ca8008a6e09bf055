import type { ConsumeMessage } from 'amqplib';
import { pythonRepr } from '../celery-node/python-repr';
import type { KnownTask } from '../celery-node/task-activity';
import type { QueuedTask } from './notification-task';

/**
 * A task as Celery's inspect replies and events describe it, from the message that carried it.
 * The reprs are made on first read: only task events and `inspect` read them, and making them for
 * every task was a seventh of the worker's CPU at full load.
 */
export function knownTaskOf(task: QueuedTask, message: ConsumeMessage): KnownTask {
  const headers = message.properties.headers ?? {};
  let argsRepr: string | undefined;
  let kwargsRepr: string | undefined;
  return {
    taskId: task.taskId,
    taskName: task.taskName,
    get argsRepr() {
      return (argsRepr ??= reprOf(task.taskArgs));
    },
    get kwargsRepr() {
      return (kwargsRepr ??= reprOf(task.taskKwargs));
    },
    eta: task.eta,
    expires: task.expires,
    retries: Number.isSafeInteger(headers.retries) ? (headers.retries as number) : 0,
    rootId: typeof headers.root_id === 'string' ? headers.root_id : null,
    parentId: typeof headers.parent_id === 'string' ? headers.parent_id : null,
    delivery: {
      exchange: message.fields.exchange,
      routingKey: message.fields.routingKey,
      priority: typeof message.properties.priority === 'number' ? message.properties.priority : 0,
      redelivered: message.fields.redelivered,
    },
  };
}

/** `task_args` holds a Celery client's `argsrepr` as a JSON string, or the arguments themselves as JSON. */
function reprOf(rowText: string): string {
  try {
    const value: unknown = JSON.parse(rowText);
    return typeof value === 'string' ? value : pythonRepr(value);
  } catch {
    return String(rowText);
  }
}
