import { USER_ID_RULE, UserId, normalizeUserId } from './user-id';

/** A `user_ids` list as the service takes it, or why it is refused (the reason names no id it refused). */
export type UserIdList = { ok: true; userIds: UserId[] } | { ok: false; reason: string };

/**
 * Checks a `user_ids` list (1 to `max` ids, each a user id, none twice) and returns the ids in
 * their canonical form, in the order given. A repeated id is refused rather than dropped: `7` and
 * `"7"` name the same user, and a publisher whose list repeats one most likely built it wrongly.
 */
export function normalizeUserIdList(value: unknown, max: number): UserIdList {
  if (!Array.isArray(value)) return refused(`user_ids must be a list of 1 to ${max} user ids`);
  if (value.length === 0) return refused('user_ids must not be empty');
  if (value.length > max) return refused(`user_ids lists ${value.length} users; at most ${max} (MAX_RECIPIENTS)`);
  const userIds: UserId[] = [];
  const seenAt = new Map<UserId, number>();
  for (const [index, element] of value.entries()) {
    const userId = normalizeUserId(element);
    if (userId === null) return refused(`user_ids[${index}] must be ${USER_ID_RULE}`);
    const first = seenAt.get(userId);
    if (first !== undefined) return refused(`user_ids[${index}] repeats user ${userId} (user_ids[${first}])`);
    seenAt.set(userId, index);
    userIds.push(userId);
  }
  return { ok: true, userIds };
}

function refused(reason: string): UserIdList {
  return { ok: false, reason };
}
