import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { SocketCloseCode } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { WebSocket } from 'ws';

/**
 * This gateway instance's sockets by group, and its Redis subscriptions to match: a group is
 * subscribed while at least one of its sockets is here. Frames from Redis are sent as they came,
 * serialized once by the worker, whatever the number of sockets.
 */
@Injectable()
export class SocketGroups implements OnModuleInit {
  private readonly logger = new Logger(SocketGroups.name);
  private readonly members = new Map<string, Set<WebSocket>>();
  private readonly subscriptions = new Map<string, Promise<void>>();

  constructor(
    private readonly fanout: RedisFanout,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.fanout.listen((group, frame) => this.deliver(group, frame));
  }

  /** Resolves once frames published to the group will reach this socket. */
  async join(group: string, socket: WebSocket): Promise<void> {
    let sockets = this.members.get(group);
    if (!sockets) this.members.set(group, (sockets = new Set()));
    sockets.add(socket);
    let subscribed = this.subscriptions.get(group);
    if (!subscribed) {
      subscribed = this.fanout.subscribe(group);
      this.subscriptions.set(group, subscribed);
    }
    await subscribed;
  }

  leave(group: string, socket: WebSocket): void {
    const sockets = this.members.get(group);
    if (!sockets?.delete(socket) || sockets.size > 0) return;
    this.members.delete(group);
    this.subscriptions.delete(group);
    this.fanout.unsubscribe(group).catch((error: Error) => this.logger.warn(`Unsubscribe from ${group} failed: ${error.message}`));
  }

  /** Sends to every open socket of the group; returns how many it was sent to. */
  deliver(group: string, frame: Buffer): number {
    let sent = 0;
    for (const socket of this.members.get(group) ?? []) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      // A client that stops reading must not make the gateway buffer without bound.
      if (socket.bufferedAmount > this.config.WS_MAX_BUFFERED_BYTES) {
        socket.close(SocketCloseCode.TooSlow, 'slow consumer');
        continue;
      }
      socket.send(frame, { binary: false });
      sent++;
    }
    return sent;
  }

  closeAll(code: number, reason: string): void {
    for (const sockets of this.members.values()) for (const socket of sockets) socket.close(code, reason);
  }

  get socketCount(): number {
    let count = 0;
    for (const sockets of this.members.values()) count += sockets.size;
    return count;
  }
}
