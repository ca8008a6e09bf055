import type { JwtConfig } from '@app/config';
import { normalizeUserId } from '@app/contracts';
import type { AuthenticatedUser } from './authenticated-user';
import type { RevokedTokens } from './revoked-tokens';

/**
 * How an access token's signature and registered claims are checked, wherever it arrives (REST,
 * the WebSocket handshake, a `refresh` frame). The algorithm comes from config alone, so `alg: none`
 * or an HS/RS swap in a token is refused.
 */
export function accessTokenVerification(config: JwtConfig) {
  return {
    key: config.JWT_ALGORITHM.startsWith('HS') ? config.JWT_SECRET : config.JWT_PUBLIC_KEY!,
    algorithms: [config.JWT_ALGORITHM],
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockTolerance: config.JWT_CLOCK_TOLERANCE_SECONDS,
  };
}

/**
 * The user a verified token speaks for, or `false` when a claim the service relies on is missing,
 * of the wrong type or out of range, or the token was revoked.
 */
export function accessTokenUser(
  claims: Record<string, unknown>,
  config: JwtConfig,
  revoked: RevokedTokens | undefined,
): AuthenticatedUser | false {
  // simplejwt issues refresh tokens signed with the same key; only access tokens open a session.
  if (claims.token_type !== undefined && claims.token_type !== 'access') return false;
  // A token without exp would never expire.
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return false;
  const now = Date.now() / 1000;
  const { iat } = claims;
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + config.JWT_CLOCK_TOLERANCE_SECONDS)) return false;
  const userId = normalizeUserId(claims.user_id ?? claims.sub);
  if (userId === null) return false;
  if (revoked?.isRevoked(userId, iat)) return false;
  return { userId, isAdmin: isAdmin(claims, config.JWT_ADMIN_ROLE), expiresAt: claims.exp * 1000 };
}

function isAdmin(claims: Record<string, unknown>, role: string): boolean {
  if (claims.is_staff === true) return true;
  return claims.role === role || (Array.isArray(claims.roles) && claims.roles.includes(role));
}
