import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { BEARER_PROTOCOL, HandshakeAuthenticator } from '@app/auth';
import type { IncomingMessage, Server } from 'node:http';
import { decodeClientFrame } from './client-frame.decoder';

export const NOTIFICATIONS_PATH = '/ws/notifications';

type VerifyClientCallback = (result: boolean, code?: number, message?: string) => void;

/**
 * `WsAdapter` with what the notification socket needs on top:
 * - the token is checked in `verifyClient`, before the 101, so a bad one gets HTTP 401 and no
 *   socket is ever opened;
 * - `bearer` is selected when a client sends its token as the subprotocol pair `bearer, <jwt>`
 *   (ws would otherwise echo the first offered protocol);
 * - frames go through `decodeClientFrame`, which turns bad frames into error replies;
 * - `/ws/notifications/` (trailing slash, as Django routes it) reaches the same gateway; the stock
 *   adapter matches the path exactly and destroys the socket otherwise.
 */
export class NotificationsWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly authenticator: HandshakeAuthenticator,
    private readonly maxPayload: number,
  ) {
    super(app, { messageParser: decodeClientFrame });
    (this.httpServer as Server).prependListener('upgrade', stripTrailingSlash);
  }

  override create(port: number, options: Record<string, unknown> = {}) {
    return super.create(port, {
      ...options,
      maxPayload: this.maxPayload,
      handleProtocols: (protocols: Set<string>) => (protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false),
      verifyClient: (info: { req: IncomingMessage & { user?: unknown } }, done: VerifyClientCallback) => {
        this.authenticator.authenticate(info.req).then(
          (user) => {
            if (!user) return done(false, 401, 'Unauthorized');
            info.req.user = user;
            done(true);
          },
          () => done(false, 401, 'Unauthorized'),
        );
      },
    });
  }
}

function stripTrailingSlash(request: IncomingMessage): void {
  const url = request.url ?? '';
  const [path, query] = url.split('?', 2);
  if (path.length > 1 && path.endsWith('/')) request.url = path.slice(0, -1) + (query === undefined ? '' : `?${query}`);
}
