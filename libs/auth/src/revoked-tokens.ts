import type { UserId } from '@app/contracts';

/**
 * Which of a user's tokens no longer open a session ("log out everywhere"). The gateway provides
 * it (from Postgres, cached); without a provider nothing is revoked. Synchronous on purpose: it is
 * asked on every handshake and REST call, so its answer must already be in memory.
 */
export abstract class RevokedTokens {
  /** `issuedAt`: the token's `iat` in seconds; a token without one counts as issued before any cut-off. */
  abstract isRevoked(userId: UserId, issuedAt: number | undefined): boolean;
}
