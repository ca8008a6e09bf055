import { MAX_READ_IDS } from '@app/contracts';

export type SinceRequest = { since: number | null } | { error: string };

/**
 * A `since` value from the query string or a `resume` frame: the last notification id the client
 * saw, or null when absent.
 */
export function parseSince(value: unknown): SinceRequest {
  if (value === null || value === undefined) return { since: null };
  const id = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) return { since: id };
  return { error: 'since must be a non-negative integer: the last notification id seen' };
}

/** A `broadcast_since` (query string or `resume` frame): the last broadcast id the client saw, or null when absent. */
export function parseBroadcastSince(value: unknown): SinceRequest {
  const request = parseSince(value);
  return 'error' in request
    ? { error: 'broadcast_since must be a non-negative integer: the last broadcast id seen' }
    : request;
}

export type ReadRequest = { all: true } | { all: false; ids: number[] } | { error: string };

/** `{"ids": [1, 2]}`, `{"id": 1}` or `{"all": true}`. */
export function parseReadRequest(data: unknown): ReadRequest {
  const body = (typeof data === 'object' && data !== null ? data : {}) as {
    ids?: unknown;
    id?: unknown;
    all?: unknown;
  };
  if (body.all === true) return { all: true };
  const ids = Array.isArray(body.ids) ? body.ids : body.id !== undefined ? [body.id] : null;
  if (
    !ids ||
    ids.length === 0 ||
    ids.length > MAX_READ_IDS ||
    !ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0)
  ) {
    return { error: `read needs {"ids": [1..${MAX_READ_IDS} notification ids]}, {"id": <id>} or {"all": true}` };
  }
  return { all: false, ids: ids as number[] };
}
