import { Logger, OnModuleDestroy } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AuthenticatedUser } from '@app/auth';
import { SocketCloseCode, notificationGroup, serverFrame } from '@app/contracts';
import type { ServerFrames } from '@app/contracts';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { INVALID_FRAME_EVENT } from './client-frame.decoder';
import { NOTIFICATIONS_PATH } from './notifications-ws.adapter';
import { SocketGroups } from './socket-groups';

interface SocketSession {
  connectionId: string;
  userId: string;
  group: string;
}

/**
 * `/ws/notifications/`: the socket of an authenticated user (the handshake is checked by
 * `NotificationsWsAdapter` before the upgrade) joins `Notifications_{user_id}`.
 */
@WebSocketGateway({ path: NOTIFICATIONS_PATH })
export class NotificationGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleDestroy {
  private readonly logger = new Logger(NotificationGateway.name);
  private readonly sessions = new WeakMap<WebSocket, SocketSession>();

  constructor(private readonly groups: SocketGroups) {}

  async handleConnection(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    const { userId } = request.user;
    const session: SocketSession = { connectionId: randomUUID(), userId, group: notificationGroup(userId) };
    this.sessions.set(socket, session);
    await this.groups.join(session.group, socket);
    // The socket may have closed while the subscription was being made; handleDisconnect has run.
    if (socket.readyState !== WebSocket.OPEN) return this.groups.leave(session.group, socket);
    socket.send(serverFrame('connected', { connection_id: session.connectionId, user_id: userId, group: session.group }));
    this.logger.log({ msg: 'Socket connected', userId, connectionId: session.connectionId, group: session.group });
  }

  handleDisconnect(socket: WebSocket): void {
    const session = this.sessions.get(socket);
    if (!session) return;
    this.groups.leave(session.group, socket);
    this.logger.log({ msg: 'Socket disconnected', userId: session.userId, connectionId: session.connectionId });
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() data: unknown) {
    return { event: 'pong', data: data ?? null };
  }

  @SubscribeMessage(INVALID_FRAME_EVENT)
  invalidFrame(@MessageBody() error: ServerFrames['error'], @ConnectedSocket() socket: WebSocket) {
    this.logger.debug({ msg: 'Invalid frame', connectionId: this.sessions.get(socket)?.connectionId, code: error.code });
    return { event: 'error', data: error };
  }

  onModuleDestroy(): void {
    this.groups.closeAll(SocketCloseCode.GoingAway, 'server shutting down');
  }
}
