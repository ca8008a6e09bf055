import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { BEARER_PROTOCOL } from '@app/auth';
import type { WebSocketConfig } from '@app/config';
import type { IncomingMessage, Server } from 'node:http';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { DecodedClientFrame, decodeClientFrame } from './client-frame.decoder';
import { GatewayMetrics } from './gateway-metrics';
import { HandshakeChecks } from './handshake-checks';

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
 * - `HandshakeChecks`: `Origin` (403), connection attempts per IP per second (429), the token
 *   (401), then open connections (sockets and SSE streams) per IP and per user (429);
 * - `bearer` is selected when a client sends its token as the subprotocol pair `bearer, <jwt>`
 *   (ws would otherwise echo the first offered protocol);
 * - frames go through `decodeClientFrame`, which turns bad frames into error replies, to the
 *   gateway (`ClientFrameReceiver`);
 * - `/ws/notifications/` (trailing slash, as Django routes it) reaches the same gateway; the stock
 *   adapter matches the path exactly and destroys the socket otherwise.
 */
export class NotificationsWsAdapter extends WsAdapter {
  private readonly forwardFrame: (this: WebSocket, data: RawData, isBinary: boolean) => void;

  constructor(
    app: INestApplicationContext,
    private readonly checks: HandshakeChecks,
    private readonly metrics: GatewayMetrics,
    private readonly config: WebSocketConfig,
    private readonly frames: ClientFrameReceiver,
  ) {
    super(app);
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
    const verdict = await this.checks.check(request, origin);
    if (!verdict.admitted) return [verdict.status, verdict.message];
    // The TCP connection closes exactly once, whether or not the upgrade completes.
    request.socket.once('close', verdict.release);
    request.user = verdict.user;
    return [200, 'OK'];
  }
}

function stripTrailingSlash(request: IncomingMessage): void {
  const url = request.url ?? '';
  const [path, query] = url.split('?', 2);
  if (path.length > 1 && path.endsWith('/')) request.url = path.slice(0, -1) + (query === undefined ? '' : `?${query}`);
}
