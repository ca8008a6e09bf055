import { Inject, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AuthenticatedUser } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { SocketCloseCode, SocketErrorCode, notificationGroup, serverFrame } from '@app/contracts';
import type { ServerFrames } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { ReadReceipts } from '../inbox/read-receipts.service';
import { INVALID_FRAME_EVENT } from './client-frame.decoder';
import { parseReadRequest, parseSince } from './client-requests';
import { NotificationResume } from './notification-resume.service';
import { NOTIFICATIONS_PATH } from './notifications-ws.adapter';
import { SocketGroups } from './socket-groups';
import { GatewayMetrics } from './gateway-metrics';
import { closeWhenTokenExpires } from './token-expiry';

interface SocketSession {
  connectionId: string;
  userId: string;
  group: string;
}

const invalidData = (message: string) => ({ event: 'error', data: { code: SocketErrorCode.InvalidData, message } });
const unavailable = { event: 'error', data: { code: SocketErrorCode.Unavailable, message: 'The inbox is unavailable; try again' } };

/**
 * `/ws/notifications/`: the socket of an authenticated user (the handshake is checked by
 * `NotificationsWsAdapter` before the upgrade) joins `Notifications_{user_id}`; with `?since=<id>`
 * it first receives what it missed.
 */
@WebSocketGateway({ path: NOTIFICATIONS_PATH })
export class NotificationGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NotificationGateway.name);
  private readonly sessions = new WeakMap<WebSocket, SocketSession>();
  /** Each socket's latest catch-up: catch-ups of one socket run one after the other. */
  private readonly catchUps = new WeakMap<WebSocket, Promise<void>>();

  constructor(
    private readonly groups: SocketGroups,
    private readonly resume: NotificationResume,
    private readonly receipts: ReadReceipts,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
    private readonly fanout: RedisFanout,
  ) {}

  onModuleInit(): void {
    this.fanout.onReconnect(() => void this.resyncAfterOutage());
  }

  async handleConnection(socket: WebSocket, request: IncomingMessage & { user: AuthenticatedUser }): Promise<void> {
    const { userId } = request.user;
    const session: SocketSession = { connectionId: randomUUID(), userId, group: notificationGroup(userId) };
    this.sessions.set(socket, session);
    this.metrics.connects.inc();
    this.metrics.socketsOpen.inc();
    closeWhenTokenExpires(socket, request.user.expiresAt, this.config.WS_TOKEN_EXPIRY_GRACE_SECONDS * 1000);
    const since = parseSince(new URL(request.url ?? '/', 'http://gateway').searchParams.get('since'));
    if (typeof since === 'number') this.groups.holdLive(socket);
    await this.groups.join(session.group, socket);
    // The socket may have closed while the subscription was being made; handleDisconnect has run.
    if (socket.readyState !== WebSocket.OPEN) return this.groups.leave(session.group, socket);
    socket.send(serverFrame('connected', { connection_id: session.connectionId, user_id: userId, group: session.group }));
    this.logger.log({ msg: 'Socket connected', userId, connectionId: session.connectionId, group: session.group, since });
    if (typeof since === 'string') socket.send(JSON.stringify(invalidData(since)));
    if (typeof since === 'number') await this.catchUp(socket, session, since);
    else await this.resume.notePresentPosition(socket, userId).catch((error: Error) => this.logger.warn({ msg: 'Reading the position failed', userId, error: error.message }));
  }

  handleDisconnect(socket: WebSocket): void {
    const session = this.sessions.get(socket);
    if (!session) return;
    this.metrics.disconnects.inc();
    this.metrics.socketsOpen.dec();
    this.groups.leave(session.group, socket);
    this.logger.log({ msg: 'Socket disconnected', userId: session.userId, connectionId: session.connectionId });
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() data: unknown) {
    return { event: 'pong', data: data ?? null };
  }

  @SubscribeMessage('resume')
  async resumeFrom(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket) {
    const since = parseSince((data as { since?: unknown } | null)?.since);
    if (typeof since !== 'number') return invalidData(since ?? 'resume needs {"since": <last notification id seen>}');
    this.groups.holdLive(socket);
    await this.catchUp(socket, this.sessions.get(socket)!, since);
  }

  @SubscribeMessage('read')
  markRead(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket) {
    return this.read(data, socket);
  }

  /** `ack` is `read` under the name some clients use for it. */
  @SubscribeMessage('ack')
  acknowledge(@MessageBody() data: unknown, @ConnectedSocket() socket: WebSocket) {
    return this.read(data, socket);
  }

  @SubscribeMessage(INVALID_FRAME_EVENT)
  invalidFrame(@MessageBody() error: ServerFrames['error'], @ConnectedSocket() socket: WebSocket) {
    this.logger.debug({ msg: 'Invalid frame', connectionId: this.sessions.get(socket)?.connectionId, code: error.code });
    if (error.code !== SocketErrorCode.BinaryNotSupported) return { event: 'error', data: error };
    socket.send(JSON.stringify({ event: 'error', data: error }));
    socket.close(SocketCloseCode.UnsupportedData, 'binary frames are not supported');
  }

  onModuleDestroy(): void {
    this.groups.closeAll(SocketCloseCode.GoingAway, 'server shutting down');
  }

  private async read(data: unknown, socket: WebSocket) {
    const request = parseReadRequest(data);
    if ('error' in request) return invalidData(request.error);
    const { userId } = this.sessions.get(socket)!;
    try {
      const receipt = request.all ? await this.receipts.markAllRead(userId) : await this.receipts.markRead(userId, request.ids);
      return { event: 'read_confirmed', data: receipt };
    } catch (error) {
      this.logger.warn({ msg: 'Marking read failed', userId, error: (error as Error).message });
      return unavailable;
    }
  }

  /**
   * After this gateway lost Redis, the frames published meanwhile never came (ioredis resubscribes,
   * it cannot replay). Every socket whose position is known catches up again from the inbox, from
   * the last id it was sent (or, for one that connected without `since`, the user's newest id when
   * it connected), once its group is subscribed again: nothing is lost and no client has to
   * reconnect. A socket whose position could not be read (the inbox was down) is left as it is.
   */
  private async resyncAfterOutage(): Promise<void> {
    const positions = this.groups.sockets().flatMap((socket) => {
      const since = this.groups.positionOf(socket);
      return since === undefined ? [] : [{ socket, since }];
    });
    for (const { socket } of positions) this.groups.holdLive(socket);
    // Frames published from now on arrive (and wait while the socket catches up).
    await this.groups.resubscribe().catch((error: Error) => this.logger.warn({ msg: 'Resubscribing failed', error: error.message }));
    this.logger.warn({ msg: 'Fan-out reconnected; catching sockets up from the inbox', sockets: positions.length });
    await Promise.all(positions.map(({ socket, since }) => this.catchUp(socket, this.sessions.get(socket)!, since, { afterOutage: true })));
  }

  private catchUp(socket: WebSocket, session: SocketSession, since: number, options: { afterOutage?: boolean } = {}): Promise<void> {
    const next = (this.catchUps.get(socket) ?? Promise.resolve()).then(() => {
      // An earlier catch-up of this socket may have released its live frames meanwhile.
      if (options.afterOutage) this.groups.holdLive(socket);
      return this.runCatchUp(socket, session, since, options);
    });
    this.catchUps.set(socket, next);
    return next;
  }

  private async runCatchUp(socket: WebSocket, session: SocketSession, since: number, options: { afterOutage?: boolean }): Promise<void> {
    try {
      await this.resume.catchUp(socket, session.userId, since, options);
    } catch (error) {
      this.logger.warn({ msg: 'Catch-up failed', connectionId: session.connectionId, error: (error as Error).message });
      this.groups.send(socket, JSON.stringify(unavailable));
    }
  }
}
