import { Injectable } from '@nestjs/common';
import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import type { UserId } from '@app/contracts';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { SEND_NOTIFICATION_PATTERN } from '../task-queue.server';

/** A message that passed every check: who gets what. */
export interface NotificationTask {
  taskId: string;
  taskName: string;
  userId: UserId;
  message: unknown;
  taskArgs: string;
  taskKwargs: string;
}

/** Why a message cannot run, in Celery's terms so the FAILURE row reads as Celery's would. */
export interface TaskRejection {
  taskId: string;
  taskName: string | null;
  excType: 'ContentDisallowed' | 'DecodeError' | 'NotRegistered' | 'TypeError';
  excModule: string;
  reason: string;
}

export type DecodedMessage = { ok: true; task: NotificationTask } | { ok: false; rejection: TaskRejection };

const JSON_CONTENT_TYPES = new Set(['application/json', 'text/json']);
const MAX_TASK_ID_LENGTH = 255;

/**
 * Turns a raw AMQP message from `send_notification` into a `NotificationTask`, or says precisely
 * why it cannot be one. Accepts a Nest message `{"pattern":"send_notification","data":{...}}` and
 * a plain `{"user_id":..,"message":..}`. Pure: no I/O, so every bad input is a unit test.
 */
@Injectable()
export class NotificationMessageDecoder {
  decode(amqpMessage: ConsumeMessage): DecodedMessage {
    const { properties, content } = amqpMessage;
    let taskId = validTaskId(properties.messageId) ?? validTaskId(properties.correlationId);
    const reject = (excType: TaskRejection['excType'], reason: string, taskName: string | null = null): DecodedMessage => ({
      ok: false,
      rejection: { taskId: taskId ?? randomUUID(), taskName, excType, excModule: EXCEPTION_MODULES[excType], reason },
    });

    const contentType = properties.contentType?.toLowerCase();
    if (contentType && !JSON_CONTENT_TYPES.has(contentType)) {
      return reject('ContentDisallowed', `Refusing to deserialize content of type ${contentType}; only application/json is accepted`);
    }
    let body: unknown;
    try {
      body = JSON.parse(content.toString('utf8'));
    } catch (error) {
      return reject('DecodeError', `Body is not valid JSON: ${(error as Error).message}`);
    }
    if (!isObject(body)) return reject('TypeError', 'Body must be a JSON object');

    let payload: unknown = body;
    if ('pattern' in body) {
      if (body.pattern !== SEND_NOTIFICATION_PATTERN) {
        return reject('NotRegistered', `Unknown pattern ${JSON.stringify(body.pattern)}; this worker serves "${SEND_NOTIFICATION_PATTERN}"`);
      }
      payload = body.data;
    }
    if (!isObject(payload)) return reject('TypeError', 'send_notification() data must be a JSON object', SEND_NOTIFICATION_PATTERN);
    taskId ??= validTaskId(payload.task_id) ?? validTaskId(body.task_id);

    const userId = normalizeUserId(payload.user_id);
    if (!('user_id' in payload)) return reject('TypeError', "send_notification() missing required argument: 'user_id'", SEND_NOTIFICATION_PATTERN);
    if (userId === null) return reject('TypeError', `user_id must be ${USER_ID_RULE}`, SEND_NOTIFICATION_PATTERN);
    if (!('message' in payload)) return reject('TypeError', "send_notification() missing required argument: 'message'", SEND_NOTIFICATION_PATTERN);

    return {
      ok: true,
      task: {
        taskId: taskId ?? randomUUID(),
        taskName: SEND_NOTIFICATION_PATTERN,
        userId,
        message: payload.message,
        taskArgs: '[]',
        taskKwargs: JSON.stringify({ user_id: payload.user_id, message: payload.message }),
      },
    };
  }
}

const EXCEPTION_MODULES: Record<TaskRejection['excType'], string> = {
  ContentDisallowed: 'kombu.exceptions',
  DecodeError: 'kombu.exceptions',
  NotRegistered: 'celery.exceptions',
  TypeError: 'builtins',
};

function validTaskId(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TASK_ID_LENGTH ? value : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
