import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { BEARER_PROTOCOL, HandshakeAuthenticator } from '@app/auth';
import type { WebSocketConfig } from '@app/config';
import type { IncomingMessage, Server } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { DecodedClientFrame, decodeClientFrame } from './client-frame.decoder';
import { ConnectionLimits } from './connection-limits';
import { GatewayMetrics } from './gateway-metrics';

/** Where the adapter hands each decoded client frame (the gateway). */
export interface ClientFrameReceiver {
  receive(socket: WebSocket, frame: DecodedClientFrame): void;
}

export const NOTIFICATIONS_PATH = '/ws/notifications';

type VerifyClientCallback = (result: boolean, code?: number, message?: string) => void;
type UpgradeRequest = IncomingMessage & { user?: unknown };

/**
 * `WsAdapter` with what the notification socket needs on top, all of it before the 101 where it
 * can be, so that a refused client never costs a socket:
 * - `Origin` against WS_ALLOWED_ORIGINS (403), connection attempts per IP per second (429), the
 *   token (401), then open sockets per IP and per user (429);
 * - `bearer` is selected when a client sends its token as the subprotocol pair `bearer, <jwt>`
 *   (ws would otherwise echo the first offered protocol);
 * - frames go through `decodeClientFrame`, which turns bad frames into error replies, to the
 *   gateway (`ClientFrameReceiver`);
 * - `/ws/notifications/` (trailing slash, as Django routes it) reaches the same gateway; the stock
 *   adapter matches the path exactly and destroys the socket otherwise.
 */
export class NotificationsWsAdapter extends WsAdapter {
  private readonly allowedOrigins: Set<string>;
  private readonly clientAddress: (request: IncomingMessage) => string;
  private readonly forwardFrame: (this: WebSocket, data: RawData, isBinary: boolean) => void;

  constructor(
    app: INestApplicationContext,
    private readonly authenticator: HandshakeAuthenticator,
    private readonly limits: ConnectionLimits,
    private readonly metrics: GatewayMetrics,
    private readonly config: WebSocketConfig,
    private readonly frames: ClientFrameReceiver,
  ) {
    super(app);
    this.allowedOrigins = new Set(config.WS_ALLOWED_ORIGINS);
    // X-Forwarded-For only from TRUST_PROXY peers, read right to left up to the first address not
    // trusted: a client cannot choose its own budget by sending the header itself.
    const trusted = proxyaddr.compile(config.TRUST_PROXY);
    this.clientAddress = (request) => proxyaddr(request, trusted) ?? 'unknown';
    (this.httpServer as Server).prependListener('upgrade', stripTrailingSlash);
    this.forwardFrame = function forwardFrame(this: WebSocket, data: RawData, isBinary: boolean) {
      // As the stock adapter hands frames to the parser: text as a string, binary as it came (ws
      // gives each message as one Buffer).
      frames.receive(this, decodeClientFrame(isBinary ? data : (data as Buffer).toString()));
    };
  }

  override create(port: number, options: Record<string, unknown> = {}) {
    return super.create(port, {
      ...options,
      maxPayload: this.config.WS_MAX_PAYLOAD_BYTES,
      handleProtocols: (protocols: Set<string>) => (protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false),
      verifyClient: (info: { origin?: string; req: UpgradeRequest }, done: VerifyClientCallback) => {
        this.verify(info.req, info.origin).then(
          ([status, message]) => {
            if (status === 200) return done(true);
            this.metrics.handshakeRefusals.inc({ status: String(status) });
            done(false, status, message);
          },
          () => done(false, 401, 'Unauthorized'),
        );
      },
    });
  }

  /**
   * One listener shared by every socket (it finds its socket as `this`) where the stock adapter
   * builds an RxJS pipeline per socket (fromEvent, mergeMap, takeUntil, share, first: about 40
   * closures and 6 KB of heap per idle socket) and keeps the handlers Nest binds to each socket.
   * Each frame is decoded and handed to the gateway, which rate-limits, routes and answers it.
   */
  override bindMessageHandlers(client: WebSocket): void {
    client.on('message', this.forwardFrame);
  }

  /** As the stock adapter, without a closure per socket: one error listener for all of them. */
  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    const logError = (error: Error) => this.logger.error(error);
    server.on('connection', (socket: WebSocket) => socket.on('error', logError));
    server.on('error', logError);
    return server;
  }

  private async verify(request: UpgradeRequest, origin: string | undefined): Promise<[number, string]> {
    // Browsers always send Origin; other clients may not, and cannot be hijacked cross-site.
    if (origin !== undefined && this.allowedOrigins.size > 0 && !this.allowedOrigins.has(origin))
      return [403, 'Origin not allowed'];
    const ip = this.clientAddress(request);
    if (!this.limits.allowAttempt(ip)) return [429, 'Too many connection attempts'];
    const user = await this.authenticator.authenticate(request);
    if (!user) return [401, 'Unauthorized'];
    const admission = this.limits.admit(ip, user.userId);
    if (!admission.admitted) return [429, admission.reason];
    // The TCP connection closes exactly once, whether or not the upgrade completes.
    request.socket.once('close', admission.release);
    request.user = user;
    return [200, 'OK'];
  }
}

function stripTrailingSlash(request: IncomingMessage): void {
  const url = request.url ?? '';
  const [path, query] = url.split('?', 2);
  if (path.length > 1 && path.endsWith('/')) request.url = path.slice(0, -1) + (query === undefined ? '' : `?${query}`);
}
