import { Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import passport from 'passport';
import { AuthenticatedUser } from './authenticated-user';
import { JWT_STRATEGY } from './jwt.strategy';

/** Runs the `jwt` passport strategy on a WebSocket upgrade request, before any socket exists. */
@Injectable()
export class HandshakeAuthenticator {
  authenticate(request: IncomingMessage): Promise<AuthenticatedUser | null> {
    return new Promise((resolve) => {
      const done = (error: unknown, user: AuthenticatedUser | false) => resolve(error || !user ? null : user);
      passport.authenticate(JWT_STRATEGY, { session: false }, done)(request, {}, () => resolve(null));
    });
  }
}
