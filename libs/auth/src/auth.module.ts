import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AdminGuard, JwtAuthGuard } from './guards';
import { HandshakeAuthenticator } from './handshake-authenticator';
import { JwtStrategy } from './jwt.strategy';
import { TokenVerifier } from './token-verifier';

@Module({
  imports: [PassportModule],
  providers: [JwtStrategy, HandshakeAuthenticator, TokenVerifier, JwtAuthGuard, AdminGuard],
  exports: [HandshakeAuthenticator, TokenVerifier, JwtAuthGuard, AdminGuard],
})
export class AuthModule {}
