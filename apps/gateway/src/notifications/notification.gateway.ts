import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, WebSocketGateway } from '@nestjs/websockets';
import { TokenVerifier } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { WebSocketConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, errorFrame, serverFrame, withRef } from '@app/contracts';
import type { FrameRef } from '@app/contracts';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { ReadReceipts } from '../inbox/read-receipts.service';
import type { ClientConnection } from './client-connection';
import { ClientConnections, connectionStartOf } from './client-connections';
import { DecodedClientFrame, INVALID_FRAME_EVENT } from './client-frame.decoder';
import { parseBroadcastSince, parseReadRequest, parseSince } from './client-requests';
import { WebSocketTransport } from './connection-transport';
import { GatewayMetrics } from './gateway-metrics';
import { ClientFrameReceiver, NOTIFICATIONS_PATH } from './notifications-ws.adapter';

/**
 * `/ws/notifications/`: the socket of an authenticated user (the handshake is checked by
 * `NotificationsWsAdapter` before the upgrade) becomes a `ClientConnection` (opened and closed by
 * `ClientConnections`, as a Server-Sent Events stream is); with `?since=<id>` it first receives what
 * it missed. This class routes client frames (`receive` takes every one): what a socket is sent and
 * owed is the connection's business.
 */
@WebSocketGateway({ path: NOTIFICATIONS_PATH })
export class NotificationGateway
  implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy, ClientFrameReceiver
{
  private readonly logger = new Logger(NotificationGateway.name);
  private readonly connections = new WeakMap<WebSocket, ClientConnection>();
  private readonly rateLimited: string;

  constructor(
    private readonly connectionsHere: ClientConnections,
    private readonly receipts: ReadReceipts,
    private readonly metrics: GatewayMetrics,
    private readonly tokens: TokenVerifier,
    config: WebSocketConfig,
  ) {
    this.rateLimited = errorFrame(
      SocketErrorCode.RateLimited,
      `More than ${config.WS_MAX_FRAMES_PER_SECOND} frames a second; slow down`,
    );
  }

  /** Nest drops the promise this returns: `start` never rejects. */
  async handleConnection(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    const connection = this.connectionsHere.create(new WebSocketTransport(socket), request.user);
    this.connections.set(socket, connection);
    const query = new URL(request.url ?? '/', 'http://gateway').searchParams;
    await this.connectionsHere.start(connection, connectionStartOf(query.get('since'), query.get('broadcast_since')));
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.connections.get(socket);
    if (connection) this.connectionsHere.closed(connection);
  }

  /**
   * A client frame: rate-limited (an error frame over the limit; 1008 for a flood), routed by its
   * event, and answered with the frame its handler returns, carrying the frame's `ref` if it had one.
   */
  receive(socket: WebSocket, frame: DecodedClientFrame): void {
    const connection = this.connections.get(socket);
    if (!connection) return;
    const verdict = connection.frames.take();
    const event = frame.event === INVALID_FRAME_EVENT ? 'invalid' : frame.event;
    this.metrics.framesIn.inc({ event: verdict === 'accept' ? event : 'rate_limited' });
    if (verdict === 'close') {
      // Replies to earlier frames are still on their way (handlers answer asynchronously).
      setImmediate(() => connection.close(SocketCloseCode.PolicyViolation, 'frame rate limit exceeded'));
      return;
    }
    const reply = verdict === 'accept' ? this.handle(connection, frame) : this.rateLimited;
    Promise.resolve(reply).then(
      (answer) => {
        if (answer !== undefined) connection.send(withRef(answer, frame.ref));
      },
      (error: unknown) => this.logger.error({ msg: 'Handling a frame failed', error: (error as Error).message }),
    );
  }

  /** Every connection, streams included: they are all in the groups. */
  onModuleDestroy(): void {
    this.connectionsHere.closeAll(SocketCloseCode.GoingAway, 'server shutting down');
  }

  private handle(
    connection: ClientConnection,
    frame: DecodedClientFrame,
  ): string | Promise<string | undefined> | undefined {
    switch (frame.event) {
      case 'ping':
        return serverFrame('pong', frame.data ?? null);
      case 'resume':
        return this.resume(connection, frame.data, frame.ref);
      case 'read':
      case 'ack': // `ack` is `read` under the name some clients use for it
        return this.read(connection, frame.data);
      case 'refresh':
        return this.refresh(connection, frame.data);
      case INVALID_FRAME_EVENT:
        this.logger.debug({ msg: 'Invalid frame', connectionId: connection.connectionId, code: frame.data.code });
        if (frame.data.code !== SocketErrorCode.BinaryNotSupported)
          return errorFrame(frame.data.code, frame.data.message);
        connection.send(errorFrame(frame.data.code, frame.data.message));
        connection.close(SocketCloseCode.UnsupportedData, 'binary frames are not supported');
        return undefined;
    }
  }

  /** Answered by the catch-up itself (`resumed`, `resume_gap`, `unavailable`), which carries the ref. */
  private async resume(connection: ClientConnection, data: unknown, ref?: FrameRef): Promise<string | undefined> {
    const fields = data as { since?: unknown; broadcast_since?: unknown } | null;
    const request = parseSince(fields?.since);
    if ('error' in request) return invalidData(request.error);
    if (request.since === null) return invalidData('resume needs {"since": <last notification id seen>}');
    const broadcastRequest = parseBroadcastSince(fields?.broadcast_since);
    if ('error' in broadcastRequest) return invalidData(broadcastRequest.error);
    // Broadcasts first, as at connect: `resumed` then says the whole catch-up is done.
    if (broadcastRequest.since !== null) await connection.resumeBroadcasts(broadcastRequest.since);
    await connection.resume(request.since, ref);
    return undefined;
  }

  /**
   * A new token for a live socket: checked as at the handshake, it must name the socket's user; the
   * socket then closes (4001) at the new token's expiry instead of the old one's.
   */
  private refresh(connection: ClientConnection, data: unknown): string {
    const user = this.tokens.verify((data as { token?: unknown } | null)?.token);
    const outcome = !user ? 'invalid_token' : user.userId !== connection.userId ? 'user_mismatch' : 'refreshed';
    this.metrics.tokenRefreshes.inc({ outcome });
    if (!user) return errorFrame(SocketErrorCode.InvalidToken, 'The token was refused; the socket keeps its expiry');
    if (outcome === 'user_mismatch')
      return errorFrame(SocketErrorCode.UserMismatch, "The token is another user's; the socket keeps its expiry");
    this.connectionsHere.watchExpiry(connection, user.expiresAt);
    return serverFrame('refreshed', { expires_at: new Date(user.expiresAt).toISOString() });
  }

  private async read(connection: ClientConnection, data: unknown): Promise<string> {
    const request = parseReadRequest(data);
    if ('error' in request) return invalidData(request.error);
    const { userId } = connection;
    try {
      const receipt = request.all
        ? await this.receipts.markAllRead(userId)
        : await this.receipts.markRead(userId, request.ids);
      return serverFrame('read_confirmed', receipt);
    } catch (error) {
      this.logger.warn({ msg: 'Marking read failed', userId, error: (error as Error).message });
      return errorFrame(SocketErrorCode.Unavailable, 'The inbox is unavailable; try again');
    }
  }
}

function invalidData(message: string): string {
  return errorFrame(SocketErrorCode.InvalidData, message);
}
