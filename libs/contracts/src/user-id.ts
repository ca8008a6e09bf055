/**
 * A user id as the service accepts it, from a JWT claim or an AMQP message: a non-negative safe
 * integer or a short string of characters that are safe in a Channels group name and a Redis
 * channel. Anything else could address another user's group, so it is refused.
 */
export type UserId = string;

const USER_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Returns the canonical string form of a user id, or `null` when the value is not one. */
export function normalizeUserId(value: unknown): UserId | null {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  }
  if (typeof value === 'string' && USER_ID_PATTERN.test(value)) {
    return value;
  }
  return null;
}

export const USER_ID_RULE = 'a non-negative integer or a string of 1-64 characters from [A-Za-z0-9_.-]';
