import { Injectable } from '@nestjs/common';
import { HandshakeAuthenticator } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { WebSocketConfig } from '@app/config';
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';
import { ConnectionLimits } from './connection-limits';

/** Admitted: the user, and the connection slot to give back once the connection is gone. */
export type HandshakeVerdict =
  | { admitted: true; user: AuthenticatedUser; release: () => void }
  | { admitted: false; status: 401 | 403 | 429; message: string };

/**
 * What a client must pass before it gets a connection, a WebSocket or a Server-Sent Events stream
 * alike (one budget for both): `Origin` against WS_ALLOWED_ORIGINS (403), connection attempts per
 * address per second (429), the token (401, revocation cut-offs included), then open connections
 * per address and per user (429). Cheapest first, so a flood costs no token work.
 */
@Injectable()
export class HandshakeChecks {
  private readonly allowedOrigins: Set<string>;
  private readonly clientAddress: (request: IncomingMessage) => string;

  constructor(
    private readonly authenticator: HandshakeAuthenticator,
    private readonly limits: ConnectionLimits,
    config: WebSocketConfig,
  ) {
    this.allowedOrigins = new Set(config.WS_ALLOWED_ORIGINS);
    // X-Forwarded-For only from TRUST_PROXY peers, read right to left up to the first address not
    // trusted: a client cannot choose its own budget by sending the header itself.
    const trusted = proxyaddr.compile(config.TRUST_PROXY);
    this.clientAddress = (request) => proxyaddr(request, trusted) ?? 'unknown';
  }

  async check(request: IncomingMessage, origin: string | undefined): Promise<HandshakeVerdict> {
    // Browsers always send Origin; other clients may not, and cannot be hijacked cross-site.
    if (origin !== undefined && this.allowedOrigins.size > 0 && !this.allowedOrigins.has(origin))
      return { admitted: false, status: 403, message: 'Origin not allowed' };
    const ip = this.clientAddress(request);
    if (!this.limits.allowAttempt(ip)) return { admitted: false, status: 429, message: 'Too many connection attempts' };
    const user = await this.authenticator.authenticate(request);
    if (!user) return { admitted: false, status: 401, message: 'Unauthorized' };
    const admission = this.limits.admit(ip, user.userId);
    if (!admission.admitted) return { admitted: false, status: 429, message: admission.reason };
    return { admitted: true, user, release: admission.release };
  }
}
