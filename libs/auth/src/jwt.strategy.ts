import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { JwtConfig } from '@app/config';
import { normalizeUserId } from '@app/contracts';
import { Strategy, StrategyOptionsWithoutRequest } from 'passport-jwt';
import { AuthenticatedUser } from './authenticated-user';
import { extractToken } from './token-extractor';

export const JWT_STRATEGY = 'jwt';

/**
 * The one strategy behind REST (`JwtAuthGuard`) and the WebSocket handshake (`HandshakeAuthenticator`).
 * The algorithm comes from config alone, so `alg: none` or an HS/RS swap in a token is refused.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(private readonly config: JwtConfig) {
    const options: StrategyOptionsWithoutRequest = {
      jwtFromRequest: extractToken,
      secretOrKey: config.JWT_ALGORITHM.startsWith('HS') ? config.JWT_SECRET : config.JWT_PUBLIC_KEY!,
      algorithms: [config.JWT_ALGORITHM],
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: config.JWT_CLOCK_TOLERANCE_SECONDS },
    };
    super(options);
  }

  /**
   * Checks every claim the service relies on for type and range, beyond the signature and the
   * `exp`/`nbf`/`iss`/`aud` checks jsonwebtoken makes. Returning `false` makes passport answer 401.
   */
  validate(claims: Record<string, unknown>): AuthenticatedUser | false {
    // simplejwt issues refresh tokens signed with the same key; only access tokens open a session.
    if (claims.token_type !== undefined && claims.token_type !== 'access') return false;
    // A token without exp would never expire.
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return false;
    const now = Date.now() / 1000;
    if (
      claims.iat !== undefined &&
      (typeof claims.iat !== 'number' || claims.iat > now + this.config.JWT_CLOCK_TOLERANCE_SECONDS)
    )
      return false;
    const userId = normalizeUserId(claims.user_id ?? claims.sub);
    if (userId === null) return false;
    return { userId, isAdmin: this.isAdmin(claims), expiresAt: claims.exp * 1000 };
  }

  private isAdmin(claims: Record<string, unknown>): boolean {
    if (claims.is_staff === true) return true;
    const role = this.config.JWT_ADMIN_ROLE;
    return claims.role === role || (Array.isArray(claims.roles) && claims.roles.includes(role));
  }
}
