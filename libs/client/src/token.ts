/** The server's default clock tolerance (`JWT_CLOCK_TOLERANCE_SECONDS`). */
export const CLOCK_SKEW_MS = 30_000;

interface TokenTimes {
  /** When it expires, ms since the epoch. */
  expiresAt?: number;
  /** When it was issued, ms since the epoch. */
  issuedAt?: number;
}

/** A JWT's `exp` and `iat`, read without verifying (the server verifies); empty when unreadable. */
export function tokenTimes(token: string): TokenTimes {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp, iat } = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='))) as {
      exp?: unknown;
      iat?: unknown;
    };
    return {
      expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
      issuedAt: typeof iat === 'number' ? iat * 1000 : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * Whether a JWT's `exp` has passed by more than `skewMs` (the server accepts a token up to its
 * clock tolerance after `exp`, and the two clocks differ). False for anything it cannot read.
 */
export function tokenExpired(token: string, now = Date.now(), skewMs = CLOCK_SKEW_MS): boolean {
  const { expiresAt } = tokenTimes(token);
  return expiresAt !== undefined && expiresAt + skewMs <= now;
}
