import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '@app/auth';
import { WebSocketConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, errorFrame, serverFrame } from '@app/contracts';
import { NotificationRepository } from '@app/persistence';
import { randomUUID } from 'node:crypto';
import { BroadcastFeed } from './broadcast-feed';
import { BroadcastStart, ClientConnection, ConnectionContext } from './client-connection';
import { parseBroadcastSince, parseSince } from './client-requests';
import { ClusterPresence } from './cluster-presence';
import type { ConnectionTransport } from './connection-transport';
import { GatewayMetrics } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';
import { TokenExpiryClock } from './token-expiry';

/**
 * Where a new connection starts: after `since`, or (null) at the end of the inbox; in the
 * broadcasts, after `broadcastSince`, or (null) at the newest one.
 */
export interface ConnectionStart {
  since: number | null;
  broadcastSince: number | null;
  /** What the client gave that could not be read: told in error frames after `connected`. */
  errors: string[];
}

/** A connection's start as its query gives it (`?since=`, `?broadcast_since=`). */
export function connectionStartOf(since: unknown, broadcastSince: unknown): ConnectionStart {
  const sinceRequest = parseSince(since);
  const broadcastRequest = parseBroadcastSince(broadcastSince);
  return {
    since: 'since' in sinceRequest ? sinceRequest.since : null,
    broadcastSince: 'since' in broadcastRequest ? broadcastRequest.since : null,
    errors: [sinceRequest, broadcastRequest].flatMap((request) => ('error' in request ? [request.error] : [])),
  };
}

/**
 * Opens and closes connections, whatever their transport: an admitted client becomes a
 * `ClientConnection` in its user's group, watched by the token-expiry clock and counted in
 * presence; it is sent `connected`, then what it missed after `since`. The WebSocket gateway and
 * the Server-Sent Events controller both come here, so both get the same catch-up, expiry,
 * disconnect and shutdown.
 */
@Injectable()
export class ClientConnections {
  private readonly logger = new Logger(ClientConnections.name);
  readonly context: ConnectionContext;

  constructor(
    private readonly groups: GroupSubscriptions,
    private readonly metrics: GatewayMetrics,
    private readonly expiry: TokenExpiryClock,
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
  }

  /** The connection at once (so its transport's close can find it); it opens in `start`. */
  create(transport: ConnectionTransport, user: AuthenticatedUser): ClientConnection {
    const connection = new ClientConnection(transport, randomUUID(), user.userId, this.context);
    this.metrics.opened(transport.kind);
    this.watchExpiry(connection, user.expiresAt);
    return connection;
  }

  /**
   * Joins the group, sends `connected` and the catch-up. Never rejects: a failure (Redis or
   * Postgres unreachable) closes the connection with 1013 and the client comes back later.
   */
  async start(connection: ClientConnection, { since, broadcastSince, errors }: ConnectionStart): Promise<void> {
    try {
      const broadcasts = await this.open(connection, since, broadcastSince);
      if (!broadcasts) return;
      const { userId, connectionId, group } = connection;
      this.presence.changed(userId);
      connection.send(
        serverFrame('connected', {
          connection_id: connectionId,
          user_id: userId,
          group,
          last_id: connection.startsAfter(since),
          last_broadcast_id: broadcasts.after,
        }),
      );
      const { kind } = connection.transport;
      this.logger.log({ msg: 'Client connected', transport: kind, userId, connectionId, since, broadcastSince });
      for (const error of errors) connection.send(errorFrame(SocketErrorCode.InvalidData, error));
      await connection.start(since, broadcasts);
    } catch (error) {
      this.logger.error({ msg: 'Opening a connection failed', error: (error as Error).message });
      connection.close(SocketCloseCode.InternalError, 'internal error');
    }
  }

  /** The transport closed, whoever closed it: the connection leaves everything it was counted in. */
  closed(connection: ClientConnection): void {
    const { userId, connectionId, transport } = connection;
    const cause = this.metrics.closed(transport.kind, connection.closedWith);
    this.expiry.forget(connection);
    this.groups.leave(connection);
    this.presence.changed(userId);
    this.logger.log({ msg: 'Client disconnected', transport: transport.kind, userId, connectionId, cause });
  }

  /** The connection now ends (4001) when a token that expires at `expiresAt` (ms) does, plus the grace. */
  watchExpiry(connection: ClientConnection, expiresAt: number): void {
    this.expiry.forget(connection);
    this.expiry.watch(connection, expiresAt + this.config.WS_TOKEN_EXPIRY_GRACE_SECONDS * 1000);
  }

  /** Ends every connection on this gateway (shutdown). */
  closeAll(code: number, reason: string): void {
    this.groups.closeAll(code, reason);
  }

  /**
   * Joins the connection's group and reads where it starts: without `since`, where its inbox ends;
   * without `broadcastSince`, the newest broadcast. Either failing (Redis or Postgres unreachable)
   * closes the connection with 1013. Null when it is not (or no longer) open.
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
        msg: 'Connection could not be opened; closing with 1013',
        userId: connection.userId,
        connectionId: connection.connectionId,
        error: (error as Error).message,
      });
      this.groups.leave(connection);
      connection.close(SocketCloseCode.TryAgainLater, 'temporarily unavailable; reconnect later');
      return null;
    }
    // The transport may have closed meanwhile; `closed` has run.
    if (connection.isOpen) return broadcasts;
    this.groups.leave(connection);
    return null;
  }
}
