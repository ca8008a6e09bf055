export { AuthModule } from './auth.module';
export type { AuthenticatedUser } from './authenticated-user';
export { AdminGuard, JwtAuthGuard } from './guards';
export { HandshakeAuthenticator } from './handshake-authenticator';
export { RevokedTokens } from './revoked-tokens';
export { TokenVerifier } from './token-verifier';
export { BEARER_PROTOCOL } from './token-extractor';
