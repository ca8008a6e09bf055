import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { notificationGroup, readNotificationHead } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { ClientConnection } from './client-connection';
import { ConnectionPresence } from './connection-presence';
import { GatewayMetrics } from './gateway-metrics';

/**
 * This gateway's connections by group, and its Redis subscriptions to match: a group is subscribed
 * while at least one of its connections is here. A frame from Redis goes to the connections of its
 * group as the worker serialized it, read only as far as its head (id and seq).
 *
 * When the fan-out's subscriber comes back after losing Redis, every group is subscribed again and
 * then every connection catches up from the inbox on what was published meanwhile.
 */
@Injectable()
export class GroupSubscriptions extends ConnectionPresence implements OnModuleInit {
  private readonly logger = new Logger(GroupSubscriptions.name);
  private readonly members = new Map<string, Set<ClientConnection>>();
  /** Made or being made; a failed one is forgotten, so the next connection of the group tries again. */
  private readonly subscriptions = new Map<string, Promise<void>>();
  private streams = 0;

  constructor(
    private readonly fanout: RedisFanout,
    private readonly metrics: GatewayMetrics,
  ) {
    super();
  }

  onModuleInit(): void {
    this.fanout.listen((group, frame) => this.route(group, frame));
    this.fanout.onReconnect(() => void this.resyncAfterOutage());
  }

  /** Resolves once frames published to the connection's group reach it; rejects (and forgets it) when the subscription fails. */
  async join(connection: ClientConnection): Promise<void> {
    const { group } = connection;
    let connections = this.members.get(group);
    if (!connections) this.members.set(group, (connections = new Set()));
    if (!connections.has(connection)) {
      connections.add(connection);
      if (connection.transport.kind === 'sse') this.streams++;
    }
    try {
      await this.subscription(group);
    } catch (error) {
      this.leave(connection);
      throw error;
    }
  }

  leave(connection: ClientConnection): void {
    const { group } = connection;
    const connections = this.members.get(group);
    if (!connections?.delete(connection)) return;
    if (connection.transport.kind === 'sse') this.streams--;
    if (connections.size > 0) return;
    this.members.delete(group);
    this.subscriptions.delete(group);
    this.fanout
      .unsubscribe(group)
      .catch((error: Error) => this.logger.warn(`Unsubscribe from ${group} failed: ${error.message}`));
  }

  closeAll(code: number, reason: string): void {
    for (const connections of this.members.values())
      for (const connection of connections) connection.close(code, reason);
  }

  get connectionCount(): number {
    let count = 0;
    for (const connections of this.members.values()) count += connections.size;
    return count;
  }

  get streamCount(): number {
    return this.streams;
  }

  get userCount(): number {
    return this.members.size;
  }

  socketsOf(userId: string): number {
    return this.members.get(notificationGroup(userId))?.size ?? 0;
  }

  socketCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const connections of this.members.values()) {
      const [first] = connections;
      counts.set(first.userId, connections.size);
    }
    return counts;
  }

  /** A broadcast frame to every connection on this gateway, whatever its group. */
  deliverBroadcast(frame: Buffer, id: number): void {
    for (const connections of this.members.values())
      for (const connection of connections) connection.receiveBroadcast(frame, id);
  }

  /** Closes every socket of the user on this gateway; says how many. */
  closeUser(userId: string, code: number, reason: string): number {
    const connections = [...(this.members.get(notificationGroup(userId)) ?? [])];
    for (const connection of connections) connection.close(code, reason);
    return connections.length;
  }

  private subscription(group: string): Promise<void> {
    let subscribed = this.subscriptions.get(group);
    if (!subscribed) {
      subscribed = this.fanout.subscribe(group);
      this.subscriptions.set(group, subscribed);
      subscribed.catch(() => {
        if (this.subscriptions.get(group) === subscribed) this.subscriptions.delete(group);
      });
    }
    return subscribed;
  }

  private route(group: string, frame: Buffer): void {
    const connections = this.members.get(group);
    const head = readNotificationHead(frame);
    if (head) this.metrics.deliveryLatency.observe(Math.max(0, Date.now() - head.createdAt) / 1000);
    if (!connections) return;
    for (const connection of connections) {
      if (head) connection.receiveNotification(frame, head);
      else connection.receiveFrame(frame);
    }
  }

  private async resyncAfterOutage(): Promise<void> {
    const groups = [...this.subscriptions.keys()];
    // Frames published from now on arrive (and wait while each connection catches up).
    await Promise.all(groups.map((group) => this.fanout.subscribe(group))).catch((error: Error) =>
      this.logger.warn({ msg: 'Resubscribing failed', error: error.message }),
    );
    const connections = [...this.members.values()].flatMap((group) => [...group]);
    this.logger.warn({
      msg: 'Fan-out reconnected; catching connections up from the inbox',
      connections: connections.length,
    });
    await Promise.all(connections.map((connection) => connection.resync()));
  }
}
