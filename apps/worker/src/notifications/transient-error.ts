/**
 * Whether an error says "a dependency is unreachable right now" (retry later, the message is
 * fine) rather than "this message cannot be processed" (record it, dead-letter it).
 */
export function isTransientError(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    // An id past the inbox's last partition: waits for the maintainer to open the next one.
    if (code === '23514' && typeof message === 'string' && message.startsWith('no partition of relation')) return true;
    // SQLSTATE classes: 08 connection, 40 rollback (serialization, deadlock), 53 resources,
    // 57 operator intervention (shutdown), 58 system error. Other classes are about the data.
    if (/^[0-9A-Z]{5}$/.test(code)) return ['08', '40', '53', '57', '58'].includes(code.slice(0, 2));
    return true; // Node socket errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, ...
  }
  // pg, TypeORM and ioredis report lost connections as plain errors.
  return (
    typeof message === 'string' &&
    /connect|connection|terminat|timeout|closed|not (?:available|ready)|max retries/i.test(message)
  );
}
