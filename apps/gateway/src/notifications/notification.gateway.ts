import { Logger, OnModuleDestroy } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { AuthenticatedUser } from '@app/auth';
import { WebSocketConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, errorFrame, notificationGroup, serverFrame } from '@app/contracts';
import type { ServerFrames } from '@app/contracts';
import { NotificationRepository } from '@app/persistence';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { ReadReceipts } from '../inbox/read-receipts.service';
import { ClientConnection, ConnectionContext } from './client-connection';
import { INVALID_FRAME_EVENT } from './client-frame.decoder';
import { parseReadRequest, parseSince } from './client-requests';
import { GatewayMetrics } from './gateway-metrics';
import { GroupSubscriptions } from './group-subscriptions';
import { NOTIFICATIONS_PATH } from './notifications-ws.adapter';
import { closeWhenTokenExpires } from './token-expiry';

/**
 * `/ws/notifications/`: the socket of an authenticated user (the handshake is checked by
 * `NotificationsWsAdapter` before the upgrade) becomes a `ClientConnection` in the group
 * `Notifications_{user_id}`; with `?since=<id>` it first receives what it missed. This class only
 * opens, closes and routes: what a socket is sent and owed is the connection's business.
 */
@WebSocketGateway({ path: NOTIFICATIONS_PATH })
export class NotificationGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private readonly logger = new Logger(NotificationGateway.name);
  private readonly connections = new WeakMap<WebSocket, ClientConnection>();
  private readonly context: ConnectionContext;

  constructor(
    private readonly groups: GroupSubscriptions,
    private readonly receipts: ReadReceipts,
    private readonly metrics: GatewayMetrics,
    inbox: NotificationRepository,
    private readonly config: WebSocketConfig,
  ) {
    this.context = {
      inbox,
      metrics,
      logger: this.logger,
      resumeWindow: config.RESUME_WINDOW,
      maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    };
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

  private async connect(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    const { userId } = request.user;
    const connection = new ClientConnection(
      socket,
      { connectionId: randomUUID(), userId, group: notificationGroup(userId) },
      this.context,
    );
    this.connections.set(socket, connection);
    this.metrics.connects.inc();
    this.metrics.socketsOpen.inc();
    closeWhenTokenExpires(socket, request.user.expiresAt, this.config.WS_TOKEN_EXPIRY_GRACE_SECONDS * 1000);
    const sinceRequest = parseSince(new URL(request.url ?? '/', 'http://gateway').searchParams.get('since'));
    const since = 'since' in sinceRequest ? sinceRequest.since : null;
    if (!(await this.open(connection, since))) return;
    const { connectionId, group } = connection.session;
    connection.send(
      serverFrame('connected', {
        connection_id: connectionId,
        user_id: userId,
        group,
        last_id: connection.startsAfter(since),
      }),
    );
    this.logger.log({ msg: 'Socket connected', userId, connectionId, group, since });
    if ('error' in sinceRequest) connection.send(errorFrame(SocketErrorCode.InvalidData, sinceRequest.error));
    if (since !== null) await connection.start(since);
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.connections.get(socket);
    if (!connection) return;
    this.metrics.disconnects.inc();
    this.metrics.socketsOpen.dec();
    this.groups.leave(connection);
    this.logger.log({
      msg: 'Socket disconnected',
      userId: connection.session.userId,
      connectionId: connection.session.connectionId,
    });
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() data: unknown): string {
    return serverFrame('pong', data ?? null);
  }

  @SubscribeMessage('resume')
  async resumeFrom(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket): Promise<string | undefined> {
    const request = parseSince((data as { since?: unknown } | null)?.since);
    if ('error' in request) return invalidData(request.error);
    if (request.since === null) return invalidData('resume needs {"since": <last notification id seen>}');
    await this.connections.get(socket)?.resume(request.since);
  }

  @SubscribeMessage('read')
  markRead(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket): Promise<string> {
    return this.read(data, socket);
  }

  /** `ack` is `read` under the name some clients use for it. */
  @SubscribeMessage('ack')
  acknowledge(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket): Promise<string> {
    return this.read(data, socket);
  }

  @SubscribeMessage(INVALID_FRAME_EVENT)
  invalidFrame(@MessageBody() error: ServerFrames['error'], @ConnectedSocket() socket: WebSocket): string | undefined {
    this.logger.debug({
      msg: 'Invalid frame',
      connectionId: this.connections.get(socket)?.session.connectionId,
      code: error.code,
    });
    if (error.code !== SocketErrorCode.BinaryNotSupported) return errorFrame(error.code, error.message);
    socket.send(errorFrame(error.code, error.message));
    socket.close(SocketCloseCode.UnsupportedData, 'binary frames are not supported');
  }

  onModuleDestroy(): void {
    this.groups.closeAll(SocketCloseCode.GoingAway, 'server shutting down');
  }

  /**
   * Joins the connection's group and, without `since`, reads where its inbox ends. Either failing
   * (Redis or Postgres unreachable) closes the socket with 1013: the client comes back later.
   * False when the socket is not (or no longer) open.
   */
  private async open(connection: ClientConnection, since: number | null): Promise<boolean> {
    const { userId, connectionId } = connection.session;
    try {
      await this.groups.join(connection);
      if (since === null) await connection.start(null);
    } catch (error) {
      this.logger.warn({
        msg: 'Socket could not be opened; closing with 1013',
        userId,
        connectionId,
        error: (error as Error).message,
      });
      this.groups.leave(connection);
      connection.close(SocketCloseCode.TryAgainLater, 'temporarily unavailable; reconnect later');
      return false;
    }
    // The socket may have closed meanwhile; handleDisconnect has run.
    if (connection.isOpen) return true;
    this.groups.leave(connection);
    return false;
  }

  private async read(data: unknown, socket: WebSocket): Promise<string> {
    const request = parseReadRequest(data);
    if ('error' in request) return invalidData(request.error);
    const { userId } = this.connections.get(socket)!.session;
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
