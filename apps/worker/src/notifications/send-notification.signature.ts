import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import type { UserId } from '@app/contracts';

export type BoundArguments =
  | { ok: true; userId: UserId; message: unknown }
  /** `quotesMessage`: the reason names a key the publisher sent (see TaskRejection). */
  | { ok: false; excType: 'TypeError'; reason: string; quotesMessage?: boolean };

const PARAMETERS = ['user_id', 'message'] as const;

/**
 * Binds Celery's `(args, kwargs)` to `send_notification_task(user_id, message)` as Python would,
 * with Python's own TypeError messages, so a caller sees in the result row what Celery would show.
 */
export function bindSendNotificationArguments(
  functionName: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
): BoundArguments {
  const fail = (reason: string, quotesMessage = false): BoundArguments => ({
    ok: false,
    excType: 'TypeError',
    reason: `${functionName}() ${reason}`,
    quotesMessage,
  });
  if (args.length > PARAMETERS.length) {
    return fail(`takes ${PARAMETERS.length} positional arguments but ${args.length} were given`);
  }
  const bound = new Map<string, unknown>(args.map((value, index) => [PARAMETERS[index], value]));
  for (const [name, value] of Object.entries(kwargs)) {
    if (!(PARAMETERS as readonly string[]).includes(name))
      return fail(`got an unexpected keyword argument '${name}'`, true);
    if (bound.has(name)) return fail(`got multiple values for argument '${name}'`);
    bound.set(name, value);
  }
  const missing = PARAMETERS.filter((name) => !bound.has(name)).map((name) => `'${name}'`);
  if (missing.length === 1) return fail(`missing 1 required positional argument: ${missing[0]}`);
  if (missing.length > 1)
    return fail(`missing ${missing.length} required positional arguments: ${missing.join(' and ')}`);

  const userId = normalizeUserId(bound.get('user_id'));
  if (userId === null) return { ok: false, excType: 'TypeError', reason: `user_id must be ${USER_ID_RULE}` };
  return { ok: true, userId, message: bound.get('message') };
}
