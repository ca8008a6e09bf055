import { Injectable } from '@nestjs/common';
import { WorkerConfig } from '@app/config';
import {
  MAX_MESSAGE_DEPTH,
  USER_ID_RULE,
  UserId,
  jsonNestingDepth,
  normalizeUserId,
  normalizeUserIdList,
} from '@app/contracts';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { decodeBroadcast } from './broadcast-message.decoder';
import { CeleryMessageDecoder, isCeleryMessage } from './celery-message.decoder';
import {
  DecodedMessage,
  SEND_NOTIFICATION_PATTERN,
  isJsonObject,
  jsonSyntaxProblem,
  rejected,
  taskNameOf,
  validTaskId,
} from './notification-task';

const JSON_CONTENT_TYPES = new Set(['application/json', 'text/json']);

/**
 * Turns a raw AMQP message from `send_notification` into a `NotificationTask`, or says precisely
 * why it cannot be one. Accepts a Celery protocol v2 task message, a Nest message
 * `{"pattern":"send_notification","data":{...}}` and a plain `{"user_id":..,"message":..}`, where
 * `"user_ids": [..]` may stand for `user_id` (one task for many users).
 * No I/O, so every bad input is a unit test.
 */
@Injectable()
export class NotificationMessageDecoder {
  constructor(
    private readonly celery: CeleryMessageDecoder,
    private readonly config: WorkerConfig,
  ) {}

  /** Never throws: whatever the bytes and headers, the answer is a task or a rejection. */
  decode(amqpMessage: ConsumeMessage): DecodedMessage {
    try {
      return this.decodeOrThrow(amqpMessage);
    } catch (error) {
      const reason = `Message could not be decoded: ${(error as Error)?.message ?? String(error)}`;
      // An unforeseen error may quote whatever it choked on.
      return rejected(
        'ValueError',
        reason,
        validTaskId(amqpMessage.properties?.messageId) ?? validTaskId(amqpMessage.properties?.correlationId),
        null,
        { quotesMessage: true },
      );
    }
  }

  private decodeOrThrow(amqpMessage: ConsumeMessage): DecodedMessage {
    const { properties, content } = amqpMessage;
    const celery = isCeleryMessage(amqpMessage);
    const headers = properties.headers ?? {};
    const taskId = celery
      ? (validTaskId(headers.id) ?? validTaskId(properties.correlationId))
      : (validTaskId(properties.messageId) ?? validTaskId(properties.correlationId));
    const taskName = celery ? taskNameOf(headers.task) : null;

    // Checked before anything is parsed: pickle and its kind can run code when deserialized.
    const contentType = properties.contentType?.toLowerCase();
    if (contentType && !JSON_CONTENT_TYPES.has(contentType)) {
      return rejected(
        'ContentDisallowed',
        `Refusing to deserialize content of type ${contentType}; only application/json is accepted`,
        taskId,
        taskName,
      );
    }
    if (content.length > this.config.MAX_MESSAGE_BYTES) {
      return rejected(
        'ValueError',
        `Message body of ${content.length} bytes exceeds MAX_MESSAGE_BYTES (${this.config.MAX_MESSAGE_BYTES})`,
        taskId,
        taskName,
      );
    }
    const text = content.toString('utf8');
    if (jsonNestingDepth(text) > MAX_MESSAGE_DEPTH) {
      return rejected('ValueError', `Message body nests deeper than ${MAX_MESSAGE_DEPTH} levels`, taskId, taskName);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return rejected('DecodeError', jsonSyntaxProblem(error), taskId, taskName);
    }
    return celery ? this.celery.decode(amqpMessage, body) : this.decodeNestOrPlain(body, taskId);
  }

  private decodeNestOrPlain(body: unknown, taskIdFromProperties: string | null): DecodedMessage {
    let taskId = taskIdFromProperties;
    if (!isJsonObject(body)) return rejected('TypeError', 'Body must be a JSON object', taskId);
    let payload: unknown = body;
    if ('pattern' in body) {
      if (body.pattern !== SEND_NOTIFICATION_PATTERN) {
        return rejected(
          'NotRegistered',
          `Unknown pattern ${JSON.stringify(body.pattern)}; this worker serves "${SEND_NOTIFICATION_PATTERN}"`,
          taskId,
          null,
          { quotesMessage: true },
        );
      }
      payload = body.data;
    }
    const fail = (reason: string) => rejected('TypeError', reason, taskId, SEND_NOTIFICATION_PATTERN);
    if (!isJsonObject(payload)) return fail('send_notification() data must be a JSON object');
    taskId ??= validTaskId(payload.task_id) ?? validTaskId(body.task_id);
    if ('broadcast' in payload) return decodeBroadcast(payload, taskId);

    const recipients = this.recipientsOf(payload);
    if (!recipients.ok) return fail(recipients.reason);
    if (!('message' in payload)) return fail("send_notification() missing required argument: 'message'");

    const messageJson = JSON.stringify(payload.message);
    const recipientsKey = recipients.listed ? 'user_ids' : 'user_id';
    const recipientsArgument = payload[recipientsKey];
    return {
      ok: true,
      task: {
        taskId: taskId ?? randomUUID(),
        taskName: SEND_NOTIFICATION_PATTERN,
        recipients: recipients.userIds,
        listsRecipients: recipients.listed,
        message: payload.message,
        messageJson,
        taskArgs: '[]',
        // JSON.stringify({user_id(s), message}) without serializing the message twice.
        taskKwargs: `{"${recipientsKey}":${JSON.stringify(recipientsArgument)},"message":${messageJson}}`,
        args: [],
        kwargs: { [recipientsKey]: recipientsArgument, message: payload.message },
        retries: 0,
        eta: null,
        expires: null,
      },
    };
  }

  /** The users a plain or Nest payload names: `user_id`, or a `user_ids` list (never both). */
  private recipientsOf(payload: Record<string, unknown>): Recipients {
    if ('user_ids' in payload) {
      if ('user_id' in payload) return { ok: false, reason: 'send_notification() takes user_id or user_ids, not both' };
      const list = normalizeUserIdList(payload.user_ids, this.config.MAX_RECIPIENTS);
      return list.ok ? { ok: true, userIds: list.userIds, listed: true } : list;
    }
    if (!('user_id' in payload))
      return { ok: false, reason: "send_notification() missing required argument: 'user_id'" };
    const userId = normalizeUserId(payload.user_id);
    if (userId === null) return { ok: false, reason: `user_id must be ${USER_ID_RULE}` };
    return { ok: true, userIds: [userId], listed: false };
  }
}

type Recipients = { ok: true; userIds: UserId[]; listed: boolean } | { ok: false; reason: string };
