import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { SocketCloseCode } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { WebSocket } from 'ws';
import { GatewayMetrics } from './gateway-metrics';

/**
 * This gateway instance's sockets by group, and its Redis subscriptions to match: a group is
 * subscribed while at least one of its sockets is here. Frames from Redis are sent as they came,
 * serialized once by the worker, whatever the number of sockets.
 *
 * While a socket catches up on stored notifications (`holdLive` .. `releaseLive`), its live frames
 * wait, and on release only those newer than the last stored one sent go out: no gap, no duplicate.
 */
@Injectable()
export class SocketGroups implements OnModuleInit {
  private readonly logger = new Logger(SocketGroups.name);
  private readonly members = new Map<string, Set<WebSocket>>();
  private readonly subscriptions = new Map<string, Promise<void>>();
  private readonly held = new WeakMap<WebSocket, Buffer[]>();
  /** The first notification id each socket received live: what a later catch-up must stop before. */
  private readonly firstLiveId = new WeakMap<WebSocket, number>();
  /**
   * After a catch-up, the last stored id sent: a live frame at or below it is one the socket has
   * (the worker publishes after its commit, so a frame can arrive after the catch-up read its row).
   */
  private readonly caughtUpTo = new WeakMap<WebSocket, number>();
  /**
   * How far each socket is known to be: the highest notification id sent to it, or the `since` it
   * caught up from. What it resumes from after this gateway lost Redis (`NotificationGateway`).
   */
  private readonly positions = new WeakMap<WebSocket, number>();

  constructor(
    private readonly fanout: RedisFanout,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
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

  /** Sends to every open socket of the group; returns how many it was sent (or held) for. */
  deliver(group: string, frame: Buffer): number {
    const createdAt = createdAtOf(frame);
    if (createdAt !== null) this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - createdAt) / 1000);
    let sent = 0;
    for (const socket of this.members.get(group) ?? []) {
      const held = this.held.get(socket);
      if (held) held.push(frame);
      else if (this.alreadySent(socket, frame) || !this.send(socket, frame)) continue;
      sent++;
    }
    return sent;
  }

  /** Sends one frame unless the socket is closed or has stopped reading; says whether it sent. */
  send(socket: WebSocket, frame: Buffer | string): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    // A client that stops reading must not make the gateway buffer without bound.
    if (socket.bufferedAmount > this.config.WS_MAX_BUFFERED_BYTES) {
      socket.close(SocketCloseCode.TooSlow, 'slow consumer');
      this.metrics.dropped.inc({ reason: 'slow_consumer' });
      return false;
    }
    const id = notificationIdOf(frame);
    if (id !== null) {
      if (!this.firstLiveId.has(socket)) this.firstLiveId.set(socket, id);
      this.notePosition(socket, id);
    }
    socket.send(frame, { binary: false });
    this.metrics.framesOut.inc();
    return true;
  }

  /** Live frames for this socket wait from now on, until `releaseLive`. */
  holdLive(socket: WebSocket): void {
    if (!this.held.has(socket)) this.held.set(socket, []);
  }

  /** Sends the held frames newer than `sentUpTo` (the last stored notification sent), then goes live. */
  releaseLive(socket: WebSocket, sentUpTo: number): void {
    const held = this.held.get(socket) ?? [];
    this.held.delete(socket);
    this.caughtUpTo.set(socket, Math.max(sentUpTo, this.caughtUpTo.get(socket) ?? 0));
    for (const frame of held) if (!this.alreadySent(socket, frame)) this.send(socket, frame);
  }

  private alreadySent(socket: WebSocket, frame: Buffer): boolean {
    const floor = this.caughtUpTo.get(socket);
    if (floor === undefined) return false;
    const id = notificationIdOf(frame);
    return id !== null && id <= floor;
  }

  /** Records that the socket has (or is catching up to) every notification up to `id`. */
  notePosition(socket: WebSocket, id: number): void {
    if (id > (this.positions.get(socket) ?? -1)) this.positions.set(socket, id);
  }

  /** See `positions`; undefined for a socket that never resumed and was never sent a notification. */
  positionOf(socket: WebSocket): number | undefined {
    return this.positions.get(socket);
  }

  /** Every socket on this gateway now. */
  sockets(): WebSocket[] {
    return [...this.members.values()].flatMap((sockets) => [...sockets]);
  }

  /** Subscribes again to every group held here; resolves once all of them are live. */
  async resubscribe(): Promise<void> {
    await Promise.all([...this.subscriptions.keys()].map((group) => this.fanout.subscribe(group)));
  }

  /** The id of the first notification this socket received live, if any. */
  firstLiveIdOf(socket: WebSocket): number | undefined {
    return this.firstLiveId.get(socket);
  }

  closeAll(code: number, reason: string): void {
    for (const sockets of this.members.values()) for (const socket of sockets) socket.close(code, reason);
  }

  get socketCount(): number {
    let count = 0;
    for (const sockets of this.members.values()) count += sockets.size;
    return count;
  }

  /** Groups with a socket here: one per connected user. */
  get groupCount(): number {
    return this.members.size;
  }
}

const ID_FIELD = '"id":';

/**
 * The id of a notification frame, read without parsing the whole frame: the worker serializes
 * `id` right after `event` and `type` (libs/contracts), so it sits in the first few dozen bytes.
 * Other frames (read receipts) have no top-level numeric id there.
 */
export function notificationIdOf(frame: Buffer | string): number | null {
  const head = (typeof frame === 'string' ? frame : frame.subarray(0, 96).toString('latin1')).slice(0, 96);
  if (!head.startsWith('{"event":"notification"')) return null;
  const at = head.indexOf(ID_FIELD);
  if (at < 0) return null;
  const id = parseInt(head.slice(at + ID_FIELD.length), 10);
  return Number.isSafeInteger(id) ? id : null;
}

const CREATED_AT_FIELD = '"created_at":"';

/** When a notification frame's notification was stored (ms), read from the frame's head like its id. */
function createdAtOf(frame: Buffer): number | null {
  const head = frame.subarray(0, 200).toString('latin1');
  const at = head.indexOf(CREATED_AT_FIELD);
  if (at < 0) return null;
  const time = Date.parse(head.slice(at + CREATED_AT_FIELD.length, at + CREATED_AT_FIELD.length + 24));
  return Number.isNaN(time) ? null : time;
}
