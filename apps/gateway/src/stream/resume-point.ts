/** Where a stream resumes: after this inbox id, or (null) at the end of the inbox. */
export type ResumePoint = { since: number | null } | { error: string };

const INBOX_ID = /^\d{1,16}$/;

/**
 * The `Last-Event-ID` header (an `EventSource` sends it on its own reconnects: the id of the last
 * event it received) or else `?since=`. Either must be an inbox id; anything else is refused (400)
 * rather than read as "from the start" or "from now", which would resend or lose notifications.
 */
export function resumePointOf(lastEventId: string | undefined, since: unknown): ResumePoint {
  if (lastEventId !== undefined && lastEventId !== '') return parseId(lastEventId.trim(), 'Last-Event-ID');
  if (since === undefined) return { since: null };
  if (typeof since !== 'string') return { error: 'since must be given once' };
  return parseId(since, 'since');
}

function parseId(value: string, name: string): ResumePoint {
  const id = INBOX_ID.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(id)) return { since: id };
  return {
    error: `${name} must be a notification id (a non-negative integer of at most 16 digits): the id of the last notification received`,
  };
}
