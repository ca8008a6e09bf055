export { AuthModule } from './auth.module';
export type { AuthenticatedUser } from './authenticated-user';
export { AdminGuard, JwtAuthGuard } from './guards';
export { HandshakeAuthenticator } from './handshake-authenticator';
export { BEARER_PROTOCOL } from './token-extractor';
