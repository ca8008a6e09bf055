import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { BEARER_PROTOCOL, HandshakeAuthenticator } from '@app/auth';
import type { WebSocketConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, errorFrame } from '@app/contracts';
import type { IncomingMessage, Server } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { RawData, WebSocket } from 'ws';
import { INVALID_FRAME_EVENT, decodeClientFrame } from './client-frame.decoder';
import { ConnectionLimits } from './connection-limits';
import { FrameRateLimiter } from './frame-rate-limiter';
import { GatewayMetrics } from './gateway-metrics';

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
 * - frames go through `decodeClientFrame`, which turns bad frames into error replies, and a rate
 *   limit per socket (an error frame over it; 1008 for a flood);
 * - `/ws/notifications/` (trailing slash, as Django routes it) reaches the same gateway; the stock
 *   adapter matches the path exactly and destroys the socket otherwise.
 */
export class NotificationsWsAdapter extends WsAdapter {
  private readonly allowedOrigins: Set<string>;
  private readonly clientAddress: (request: IncomingMessage) => string;
  private readonly rateLimited: string;

  constructor(
    app: INestApplicationContext,
    private readonly authenticator: HandshakeAuthenticator,
    private readonly limits: ConnectionLimits,
    private readonly metrics: GatewayMetrics,
    private readonly config: WebSocketConfig,
  ) {
    super(app);
    this.allowedOrigins = new Set(config.WS_ALLOWED_ORIGINS);
    // X-Forwarded-For only from TRUST_PROXY peers, read right to left up to the first address not
    // trusted: a client cannot choose its own budget by sending the header itself.
    const trusted = proxyaddr.compile(config.TRUST_PROXY);
    this.clientAddress = (request) => proxyaddr(request, trusted) ?? 'unknown';
    this.rateLimited = errorFrame(
      SocketErrorCode.RateLimited,
      `More than ${config.WS_MAX_FRAMES_PER_SECOND} frames a second; slow down`,
    );
    (this.httpServer as Server).prependListener('upgrade', stripTrailingSlash);
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
   * One plain listener per socket where the stock adapter builds an RxJS pipeline (fromEvent,
   * mergeMap, takeUntil, share, first): about 40 closures and 6 KB of heap per idle socket in a
   * heap snapshot (docs/benchmarks.md). Each frame is decoded, rate-limited and routed to its
   * handler; what the handler returns (a serialized frame, or a promise of one) is sent back as the reply.
   */
  override bindMessageHandlers(client: WebSocket, handlers: MessageMappingProperties[]): void {
    const limiter = new FrameRateLimiter(this.config.WS_MAX_FRAMES_PER_SECOND);
    client.on('message', (data: RawData, isBinary: boolean) => {
      // As the stock adapter hands frames to the parser: text as a string, binary as it came (ws
      // gives each message as one Buffer).
      const frame = decodeClientFrame(isBinary ? data : (data as Buffer).toString());
      const handler = handlers.find((candidate) => candidate.message === frame.event);
      if (!handler) return;
      const verdict = limiter.take();
      this.metrics.framesIn.inc({
        event:
          verdict !== 'accept'
            ? 'rate_limited'
            : String(frame.event) === INVALID_FRAME_EVENT
              ? 'invalid'
              : String(frame.event),
      });
      if (verdict === 'close') {
        // Replies to earlier frames are still on their way (handlers answer asynchronously).
        setImmediate(() => client.close(SocketCloseCode.PolicyViolation, 'frame rate limit exceeded'));
        return;
      }
      const reply = verdict === 'accept' ? handler.callback(frame.data, frame.event) : this.rateLimited;
      Promise.resolve(reply).then(
        (response) => {
          if (typeof response === 'string' && client.readyState === client.OPEN) client.send(response);
        },
        (error: unknown) => this.logger.error(error),
      );
    });
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
