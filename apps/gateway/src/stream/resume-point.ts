import { SinceRequest, parseSince } from '../notifications/client-requests';

/**
 * The `Last-Event-ID` header (an `EventSource` sends it on its own reconnects: the id of the last
 * event it received) or else `?since=`, read as a socket's `since`. Either must be an inbox id;
 * anything else is refused (400) rather than read as "from the start" or "from now", which would
 * resend or lose notifications. `since: null`: at the end of the inbox.
 */
export function resumePointOf(lastEventId: string | undefined, since: unknown): SinceRequest {
  if (lastEventId !== undefined && lastEventId !== '') return parseId(lastEventId.trim(), 'Last-Event-ID');
  if (since === undefined) return { since: null };
  if (typeof since !== 'string') return { error: 'since must be given once' };
  return parseId(since, 'since');
}

/** The error names the header or parameter, which the socket's `since` message cannot. */
function parseId(value: string, name: string): SinceRequest {
  const request = parseSince(value);
  if ('since' in request) return request;
  return {
    error: `${name} must be a notification id (a non-negative integer of at most 16 digits): the id of the last notification received`,
  };
}
