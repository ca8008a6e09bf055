import { Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayDisconnect, WebSocketGateway } from '@nestjs/websockets';
import { TokenVerifier } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { WebSocketConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, errorFrame, serverFrame, withRef } from '@app/contracts';
import type { FrameRef } from '@app/contracts';
import { NotificationRepository } from '@app/persistence';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { ReadReceipts } from '../inbox/read-receipts.service';
import { BroadcastFeed } from './broadcast-feed';
import { BroadcastStart, ClientConnection, ConnectionContext } from './client-connection';
import { DecodedClientFrame, INVALID_FRAME_EVENT } from './client-frame.decoder';
import { parseBroadcastSince, parseReadRequest, parseSince } from './client-requests';
import { ClusterPresence } from './cluster-presence';
import { GatewayMetrics, disconnectCause } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';
import { ClientFrameReceiver, NOTIFICATIONS_PATH } from './notifications-ws.adapter';
import { TokenExpiryClock } from './token-expiry';

/**
 * `/ws/notifications/`: the socket of an authenticated user (the handshake is checked by
 * `NotificationsWsAdapter` before the upgrade) becomes a `ClientConnection` in the group
 * `Notifications_{user_id}`; with `?since=<id>` it first receives what it missed. This class only
 * opens, closes and routes (`receive` takes every client frame): what a socket is sent and owed is
 * the connection's business.
 */
@WebSocketGateway({ path: NOTIFICATIONS_PATH })
export class NotificationGateway
  implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy, ClientFrameReceiver
{
  private readonly logger = new Logger(NotificationGateway.name);
  private readonly connections = new WeakMap<WebSocket, ClientConnection>();
  private readonly context: ConnectionContext;
  private readonly rateLimited: string;

  constructor(
    private readonly groups: GroupSubscriptions,
    private readonly receipts: ReadReceipts,
    private readonly metrics: GatewayMetrics,
    private readonly expiry: TokenExpiryClock,
    private readonly tokens: TokenVerifier,
    private readonly presence: ClusterPresence,
    inbox: NotificationRepository,
    private readonly broadcasts: BroadcastFeed,
    private readonly config: WebSocketConfig,
  ) {
    this.context = {
      inbox,
      broadcasts,
      metrics,
      logger: this.logger,
      resumeWindow: config.RESUME_WINDOW,
      maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
      maxFramesPerSecond: config.WS_MAX_FRAMES_PER_SECOND,
    };
    this.rateLimited = errorFrame(
      SocketErrorCode.RateLimited,
      `More than ${config.WS_MAX_FRAMES_PER_SECOND} frames a second; slow down`,
    );
  }

  /** Nest drops the promise this returns: it must never reject. */
  async handleConnection(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    try {
      await this.connect(socket, request);
    } catch (error) {
      this.logger.error({ msg: 'Opening a socket failed', error: (error as Error).message });
      socket.close(SocketCloseCode.InternalError, 'internal error');
    }
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.connections.get(socket);
    if (!connection) return;
    const cause = disconnectCause(connection.closedWith);
    this.metrics.disconnects.inc({ cause });
    this.metrics.socketsOpen.dec();
    this.expiry.forget(connection);
    this.groups.leave(connection);
    this.presence.changed(connection.userId);
    const { userId, connectionId } = connection;
    this.logger.log({ msg: 'Socket disconnected', userId, connectionId, cause });
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

  onModuleDestroy(): void {
    this.groups.closeAll(SocketCloseCode.GoingAway, 'server shutting down');
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

  private async connect(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    const { userId } = request.user;
    const connection = new ClientConnection(socket, randomUUID(), userId, this.context);
    this.connections.set(socket, connection);
    this.metrics.connects.inc();
    this.metrics.socketsOpen.inc();
    this.expiry.watch(connection, request.user.expiresAt + this.config.WS_TOKEN_EXPIRY_GRACE_SECONDS * 1000);
    const query = new URL(request.url ?? '/', 'http://gateway').searchParams;
    const sinceRequest = parseSince(query.get('since'));
    const since = 'since' in sinceRequest ? sinceRequest.since : null;
    const broadcastRequest = parseBroadcastSince(query.get('broadcast_since'));
    const broadcastSince = 'since' in broadcastRequest ? broadcastRequest.since : null;
    const broadcasts = await this.open(connection, since, broadcastSince);
    if (!broadcasts) return;
    this.presence.changed(userId);
    const { connectionId, group } = connection;
    const lastId = connection.startsAfter(since);
    connection.send(
      serverFrame('connected', {
        connection_id: connectionId,
        user_id: userId,
        group,
        last_id: lastId,
        last_broadcast_id: broadcasts.after,
      }),
    );
    this.logger.log({ msg: 'Socket connected', userId, connectionId, group, since, broadcastSince });
    for (const problem of [sinceRequest, broadcastRequest])
      if ('error' in problem) connection.send(errorFrame(SocketErrorCode.InvalidData, problem.error));
    await connection.start(since, broadcasts);
  }

  /**
   * Joins the connection's group and reads where it starts: without `since`, where its inbox ends;
   * without `broadcast_since`, the newest broadcast. Either failing (Redis or Postgres unreachable)
   * closes the socket with 1013: the client comes back later. Null when the socket is not (or no
   * longer) open.
   */
  private async open(
    connection: ClientConnection,
    since: number | null,
    broadcastSince: number | null,
  ): Promise<BroadcastStart | null> {
    let broadcasts: BroadcastStart;
    try {
      await this.groups.join(connection);
      if (since === null) await connection.locate();
      broadcasts =
        broadcastSince === null
          ? { after: await this.broadcasts.newestId(), catchUp: false }
          : { after: broadcastSince, catchUp: true };
    } catch (error) {
      this.logger.warn({
        msg: 'Socket could not be opened; closing with 1013',
        userId: connection.userId,
        connectionId: connection.connectionId,
        error: (error as Error).message,
      });
      this.groups.leave(connection);
      connection.close(SocketCloseCode.TryAgainLater, 'temporarily unavailable; reconnect later');
      return null;
    }
    // The socket may have closed meanwhile; handleDisconnect has run.
    if (connection.isOpen) return broadcasts;
    this.groups.leave(connection);
    return null;
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
    this.expiry.forget(connection);
    this.expiry.watch(connection, user.expiresAt + this.config.WS_TOKEN_EXPIRY_GRACE_SECONDS * 1000);
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
