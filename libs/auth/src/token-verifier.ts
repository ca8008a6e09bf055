import { Injectable, Optional } from '@nestjs/common';
import { JwtConfig } from '@app/config';
import jwt from 'jsonwebtoken';
import { accessTokenUser, accessTokenVerification } from './access-token';
import { AuthenticatedUser } from './authenticated-user';
import { RevokedTokens } from './revoked-tokens';
import { MAX_TOKEN_LENGTH } from './token-extractor';

/**
 * Checks a raw access token exactly as the handshake does (signature, algorithm, `exp`, `nbf`,
 * `iss`/`aud`, refresh tokens refused, revocation): for tokens that arrive inside a frame.
 */
@Injectable()
export class TokenVerifier {
  private readonly verification;

  constructor(
    private readonly config: JwtConfig,
    @Optional() private readonly revoked?: RevokedTokens,
  ) {
    this.verification = accessTokenVerification(config);
  }

  /** The user the token speaks for, or null when it does not open a session. */
  verify(token: unknown): AuthenticatedUser | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
    const { key, algorithms, issuer, audience, clockTolerance } = this.verification;
    let claims: unknown;
    try {
      claims = jwt.verify(token, key, { algorithms, issuer, audience, clockTolerance });
    } catch {
      return null;
    }
    if (typeof claims !== 'object' || claims === null) return null;
    return accessTokenUser(claims as Record<string, unknown>, this.config, this.revoked) || null;
  }
}
