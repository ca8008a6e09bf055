import { Injectable, Optional } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { JwtConfig } from '@app/config';
import { Strategy, StrategyOptionsWithoutRequest } from 'passport-jwt';
import { accessTokenUser, accessTokenVerification } from './access-token';
import { AuthenticatedUser } from './authenticated-user';
import { RevokedTokens } from './revoked-tokens';
import { extractToken } from './token-extractor';

export const JWT_STRATEGY = 'jwt';

/** The one strategy behind REST (`JwtAuthGuard`) and the WebSocket handshake (`HandshakeAuthenticator`). */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    private readonly config: JwtConfig,
    @Optional() private readonly revoked?: RevokedTokens,
  ) {
    const { key, algorithms, issuer, audience, clockTolerance } = accessTokenVerification(config);
    const options: StrategyOptionsWithoutRequest = {
      jwtFromRequest: extractToken,
      secretOrKey: key,
      algorithms,
      issuer,
      audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance },
    };
    super(options);
  }

  /** Returning `false` makes passport answer 401. */
  validate(claims: Record<string, unknown>): AuthenticatedUser | false {
    return accessTokenUser(claims, this.config, this.revoked);
  }
}
