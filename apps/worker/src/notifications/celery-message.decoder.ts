import { Injectable } from '@nestjs/common';
import { WorkerConfig } from '@app/config';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { DecodedMessage, isJsonObject, rejected, taskNameOf, validTaskId } from './notification-task';
import { bindSendNotificationArguments } from './send-notification.signature';

/** What marks a Celery protocol v2 message: the task name and id travel in the AMQP headers. */
export function isCeleryMessage(message: ConsumeMessage): boolean {
  const headers = message.properties.headers ?? {};
  return typeof headers.task === 'string' && 'id' in headers;
}

/**
 * Decodes a Celery protocol v2 task message (headers `task`, `id`, `eta`, `expires`, `argsrepr`,
 * ...; body `[args, kwargs, embed]`) for a task this worker serves (`CELERY_TASK_NAMES`).
 */
@Injectable()
export class CeleryMessageDecoder {
  private readonly exactNames = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(config: WorkerConfig) {
    for (const name of config.CELERY_TASK_NAMES) {
      if (name.startsWith('*')) this.suffixes.push(name.slice(1));
      else this.exactNames.add(name);
    }
  }

  serves(taskName: string): boolean {
    return this.exactNames.has(taskName) || this.suffixes.some((suffix) => taskName.endsWith(suffix));
  }

  /** `body` is the parsed JSON body; the content type has already been checked. */
  decode(message: ConsumeMessage, body: unknown): DecodedMessage {
    const headers = message.properties.headers ?? {};
    const taskName = taskNameOf(headers.task);
    const taskId = validTaskId(headers.id) ?? validTaskId(message.properties.correlationId);
    // Celery's NotRegistered carries the task name as its only argument.
    if (!this.serves(taskName)) return rejected('NotRegistered', taskName, taskId, taskName);

    if (!Array.isArray(body) || body.length < 2 || !Array.isArray(body[0]) || !isJsonObject(body[1])) {
      return rejected('TypeError', 'Celery message body must be [args, kwargs, embed]', taskId, taskName);
    }
    const [args, kwargs] = body as [unknown[], Record<string, unknown>];
    const eta = parseDate(headers.eta);
    const expires = parseDate(headers.expires);
    if (eta === undefined)
      return rejected('ValueError', `Invalid eta header: ${JSON.stringify(headers.eta)}`, taskId, taskName);
    if (expires === undefined)
      return rejected('ValueError', `Invalid expires header: ${JSON.stringify(headers.expires)}`, taskId, taskName);

    const bound = bindSendNotificationArguments(taskName.split('.').pop()!, args, kwargs);
    if (!bound.ok)
      return rejected(bound.excType, bound.reason, taskId, taskName, { quotesMessage: bound.quotesMessage });
    return {
      ok: true,
      task: {
        taskId: taskId ?? randomUUID(),
        taskName,
        recipients: [bound.userId],
        listsRecipients: false,
        message: bound.message,
        messageJson: JSON.stringify(bound.message),
        // django-celery-results stores json.dumps(argsrepr): a JSON string holding Python's repr.
        taskArgs: JSON.stringify(typeof headers.argsrepr === 'string' ? headers.argsrepr : JSON.stringify(args)),
        taskKwargs: JSON.stringify(
          typeof headers.kwargsrepr === 'string' ? headers.kwargsrepr : JSON.stringify(kwargs),
        ),
        args,
        kwargs,
        retries: Number.isSafeInteger(headers.retries) ? (headers.retries as number) : 0,
        eta,
        expires,
      },
    };
  }
}

/** null when absent, undefined when present but not an ISO-8601 date. */
function parseDate(value: unknown): Date | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
