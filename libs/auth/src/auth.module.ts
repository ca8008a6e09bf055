import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AdminGuard, JwtAuthGuard } from './guards';
import { HandshakeAuthenticator } from './handshake-authenticator';
import { JwtStrategy } from './jwt.strategy';

@Module({
  imports: [PassportModule],
  providers: [JwtStrategy, HandshakeAuthenticator, JwtAuthGuard, AdminGuard],
  exports: [HandshakeAuthenticator, JwtAuthGuard, AdminGuard],
})
export class AuthModule {}
