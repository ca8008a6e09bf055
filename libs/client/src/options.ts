import { DEFAULT_RESUME_WINDOW } from './protocol';
import type { NotificationClientOptions } from './types';

/** The options that are numbers, with the least each may be (`true`: a whole number). */
const NUMBER_RULES: Array<[keyof NotificationClientOptions, number, boolean]> = [
  ['since', 0, true],
  ['broadcastSince', 0, true],
  ['requestTimeoutMs', 1, false],
  ['tokenTimeoutMs', 1, false],
  ['connectTimeoutMs', 1, false],
  ['pingIntervalMs', 0, false],
  ['maxHandshakeFailures', 1, true],
  ['refreshLeadMs', 0, false],
  ['maxGapFill', 0, true],
  ['dedupeWindow', DEFAULT_RESUME_WINDOW, true],
];

const RECONNECT_RULES: Array<[string, number, boolean]> = [
  ['initialDelayMs', 1, false],
  ['maxDelayMs', 1, false],
  ['factor', 1, false],
  ['maxAttempts', 0, true],
];

/**
 * Checks the options a client was given, so a mistake (a `since` of NaN from
 * `parseInt(localStorage.lastId)`, a string token of '') is an error naming the option, not a
 * client that silently does less. Throws a TypeError.
 */
export function checkOptions(options: NotificationClientOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('NotificationClient needs an options object');
  if (typeof options.url !== 'string' || options.url === '') throw new TypeError('url must be a non-empty string');
  if (typeof options.token === 'string' ? options.token === '' : typeof options.token !== 'function') {
    throw new TypeError('token must be a non-empty string or a function returning one');
  }
  if (options.transport !== undefined && !['websocket', 'sse', 'auto'].includes(options.transport))
    throw new TypeError(`transport must be 'websocket', 'sse' or 'auto'; got ${shown(options.transport)}`);
  for (const [name, min, whole] of NUMBER_RULES) checkNumber(name, options[name], min, whole);
  if (options.reconnect !== undefined && options.reconnect !== false) {
    if (typeof options.reconnect !== 'object' || options.reconnect === null) {
      throw new TypeError('reconnect must be an object or false');
    }
    for (const [name, min, whole] of RECONNECT_RULES) {
      checkNumber(`reconnect.${name}`, (options.reconnect as Record<string, unknown>)[name], min, whole);
    }
  }
  if (options.apiUrl !== undefined && options.apiUrl !== false && typeof options.apiUrl !== 'string') {
    throw new TypeError('apiUrl must be a URL string or false');
  }
}

function checkNumber(name: string, value: unknown, min: number, whole: boolean): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'number' && (whole ? Number.isSafeInteger(value) : Number.isFinite(value)) && value >= min;
  if (!ok) {
    throw new TypeError(
      `${name} must be a ${whole ? 'whole number' : 'number'} of at least ${min}; got ${shown(value)}`,
    );
  }
}

function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}
