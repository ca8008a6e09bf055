import type { UserId } from '@app/contracts';
import { randomUUID } from 'node:crypto';

/**
 * The task this worker runs. Its name is also the one pattern the task queue routes every message
 * to (a Nest `ClientProxy.emit('send_notification', ...)` names it too).
 */
export const SEND_NOTIFICATION_PATTERN = 'send_notification';

/** A message that passed every check: who gets what, and when. */
export interface NotificationTask {
  taskId: string;
  taskName: string;
  /** Who gets it: one user (`user_id`) or each of a `user_ids` list, in the order given, none twice. */
  recipients: UserId[];
  /** True when the message named its users as `user_ids`: its result reports a count and groups. */
  listsRecipients: boolean;
  message: unknown;
  /** `message` as JSON text, made once: stored, compared with a stored task's and framed as it is. */
  messageJson: string;
  /** What the row's `task_args`/`task_kwargs` hold: JSON text, as django-celery-results writes them. */
  taskArgs: string;
  taskKwargs: string;
  /**
   * The arguments as the message carries them, and Celery's `retries` header: the extended fields
   * of a cached result (CELERY_RESULT_EXTENDED), as Celery's request has them.
   */
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  /** Celery's `eta`: do not run before. */
  eta: Date | null;
  /** Celery's `expires`: do not run after; the task is REVOKED instead. */
  expires: Date | null;
}

/** The exceptions a rejected message is recorded with, and the Python module Celery names for each. */
export const EXCEPTION_MODULES = {
  ContentDisallowed: 'kombu.exceptions',
  DecodeError: 'kombu.exceptions',
  NotRegistered: 'celery.exceptions',
  RuntimeError: 'builtins',
  TypeError: 'builtins',
  ValueError: 'builtins',
} as const;

export type RejectionType = keyof typeof EXCEPTION_MODULES;

/** Why a message cannot run, in Celery's terms so the FAILURE row reads as Celery's would. */
export interface TaskRejection {
  taskId: string;
  taskName: string | null;
  excType: RejectionType;
  /** The exception's argument, as Celery stores it in `exc_message`. */
  reason: string;
  /**
   * True when `reason` holds text taken from the message body (a key or a value the publisher
   * sent): it goes to the result row and the dead letter, and to the log at debug only, because
   * bodies never reach the logs above debug.
   */
  quotesMessage: boolean;
}

/**
 * `{"broadcast": true, "message": ...}`: an announcement to every connected user, stored once in
 * the broadcast table (no user's inbox) and published on the channel every gateway hears.
 */
export interface BroadcastTask extends Omit<NotificationTask, 'recipients' | 'listsRecipients'> {
  broadcast: true;
}

/** Any task the queue carries: to one user, or to every connected user. */
export type QueuedTask = NotificationTask | BroadcastTask;

export type DecodedMessage = { ok: true; task: QueuedTask } | { ok: false; rejection: TaskRejection };

export function rejected(
  excType: RejectionType,
  reason: string,
  taskId: string | null,
  taskName: string | null = null,
  { quotesMessage = false }: { quotesMessage?: boolean } = {},
): DecodedMessage {
  return { ok: false, rejection: { taskId: taskId ?? randomUUID(), taskName, excType, reason, quotesMessage } };
}

/**
 * Why `JSON.parse` refused a body, without the excerpt of the body V8 puts in its message
 * (`Unexpected token 'h', "hello my s"... is not valid JSON`): only the position, when it says one.
 */
export function jsonSyntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (/Unexpected end of JSON input/.test(message)) return 'Body is not valid JSON: it ends too early';
  const position = /at position (\d+)/.exec(message)?.[1];
  return position === undefined ? 'Body is not valid JSON' : `Body is not valid JSON: error at position ${position}`;
}

const MAX_TASK_ID_LENGTH = 255;

/**
 * A task id that fits `task_id varchar(255)` and comes back from Postgres as it went in, or null:
 * Postgres refuses NUL, and the driver would turn a lone surrogate into U+FFFD, so the id stored
 * would not be the id looked up.
 */
export function validTaskId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TASK_ID_LENGTH) return null;
  return value.includes('\0') || !value.isWellFormed() ? null : value;
}

/** A task name as `task_name varchar(255)` can hold it: a longer one is still recorded, cut. */
export function taskNameOf(value: unknown): string {
  return String(value).slice(0, 255);
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
