import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { RedisConfig } from '@app/config';
import { Cluster, Redis } from 'ioredis';
import { PublishBatcher } from './publish-batcher';

export type FanoutListener = (group: string, frame: Buffer) => void;
export type ControlListener = (command: string) => void;
export type BroadcastListener = (frame: Buffer) => void;

/** How often a cluster subscriber re-reads the slot map, so subscriptions follow resharding. */
const SUBSCRIBER_SLOTS_REFRESH_MS = 5000;

/**
 * Reconnect attempts a subscriber command waits through before it fails (ioredis' default, 20,
 * is over a minute of backoff). A socket that connects while Redis is away waits on its
 * SUBSCRIBE: better told within a second to come back later (1013) than kept hanging.
 */
const SUBSCRIBER_COMMAND_RETRIES = 2;

/**
 * Carries serialized frames from workers to every gateway instance over Redis pub/sub.
 *
 * Each group is its own channel and a gateway subscribes only to the groups it holds sockets for,
 * so a gateway receives only its own users' traffic and PUBLISH reports how many gateways took a
 * frame. Plain channels rather than patterns: PUBLISH cost grows with every pattern on the server.
 *
 * With REDIS_CLUSTER_NODES set it uses sharded pub/sub instead (docs/redis-cluster.md): plain
 * PUBLISH in a cluster is copied to every node over the cluster bus, so adding shards adds no
 * pub/sub capacity; SPUBLISH/SSUBSCRIBE keep each channel on the one shard owning its slot.
 */
@Injectable()
export class RedisFanout implements OnModuleDestroy {
  private readonly logger = new Logger(RedisFanout.name);
  private readonly prefix: string;
  private readonly sharded: boolean;
  private readonly publisher: Redis | Cluster;
  private readonly batcher: PublishBatcher | null;
  private subscriber: Redis | Cluster | null = null;
  private groupListener: FanoutListener | null = null;
  private controlListener: ControlListener | null = null;
  private broadcastListener: BroadcastListener | null = null;
  /** No group's channel: group names start with `Notifications_`. */
  private readonly controlChannel: string;
  /** Every gateway subscribes to it, as to the control channel. */
  private readonly broadcastChannel: string;
  private readonly reconnectListeners: Array<() => void> = [];

  constructor(private readonly config: RedisConfig) {
    this.prefix = config.REDIS_CHANNEL_PREFIX;
    this.controlChannel = `${this.prefix}$control`;
    this.broadcastChannel = `${this.prefix}$broadcast`;
    this.sharded = config.REDIS_CLUSTER_NODES.length > 0;
    this.publisher = this.connect('publisher');
    this.batcher = this.publisher instanceof Redis ? new PublishBatcher(this.publisher) : null;
  }

  /** Publishes one frame to a group; resolves to how many gateway instances received it. */
  publish(group: string, frame: string): Promise<number> {
    return this.publishChannel(this.prefix + group, frame);
  }

  private publishChannel(channel: string, frame: string): Promise<number> {
    // SPUBLISH counts the subscribers on the owning shard, which is where every gateway subscribed.
    // In a cluster each frame goes to the shard owning its channel, one SPUBLISH each.
    return this.batcher
      ? this.batcher.publish(channel, frame)
      : (this.publisher.spublish(channel, frame) as Promise<number>);
  }

  /** Starts receiving; the listener gets the group name and the frame bytes untouched. */
  listen(listener: FanoutListener): void {
    if (this.groupListener) throw new Error('RedisFanout.listen() may be called once');
    this.groupListener = listener;
    this.requireSubscriber();
  }

  /**
   * Starts receiving gateway commands (`publishControl`) on the control channel, which every
   * gateway subscribes to. Subscribed again on each reconnect until it succeeds; a command
   * published while a gateway is away from Redis does not reach it (the callers say what covers that).
   */
  listenControl(listener: ControlListener): void {
    if (this.controlListener) throw new Error('RedisFanout.listenControl() may be called once');
    this.controlListener = listener;
    this.subscribeUntilDone(this.controlChannel, 'the control channel');
  }

  /**
   * Starts receiving broadcast frames (`publishBroadcast`), on a channel every gateway subscribes
   * to, as the control channel. Frames published while a gateway is away from Redis do not reach
   * it: `onReconnect` listeners read them from Postgres.
   */
  listenBroadcasts(listener: BroadcastListener): void {
    if (this.broadcastListener) throw new Error('RedisFanout.listenBroadcasts() may be called once');
    this.broadcastListener = listener;
    this.subscribeUntilDone(this.broadcastChannel, 'the broadcast channel');
  }

  /** Publishes a broadcast frame to every gateway; resolves to how many received it. */
  publishBroadcast(frame: string): Promise<number> {
    return this.publishChannel(this.broadcastChannel, frame);
  }

  /** Publishes a command to every gateway; resolves to how many received it. */
  publishControl(command: string): Promise<number> {
    return this.publishChannel(this.controlChannel, command);
  }

  /** The publisher connection (auto-pipelined), for the few plain commands gateways make (presence). */
  get commands(): Redis | Cluster {
    return this.publisher;
  }

  /**
   * Called each time the subscriber is back after losing its connection to Redis (frames published
   * in between never arrived). ioredis has resubscribed by then; awaiting `subscribe` of a group
   * again guarantees that group's subscription is live.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  subscribe(group: string): Promise<void> {
    return this.subscribeChannel(this.prefix + group);
  }

  async unsubscribe(group: string): Promise<void> {
    const subscriber = this.requireSubscriber();
    await (this.sharded ? subscriber.sunsubscribe(this.prefix + group) : subscriber.unsubscribe(this.prefix + group));
  }

  async ping(): Promise<void> {
    await this.publisher.ping();
    // Every master holds some users' channels, so one answering at random is not enough.
    if (this.publisher instanceof Cluster) await Promise.all(this.publisher.nodes('master').map((node) => node.ping()));
    // Delivery runs on the subscriber's own connection, which can be lost while the publisher's is
    // fine; Redis answers PING in subscriber mode. (A cluster's sharded subscriber connections are
    // ioredis internals with no public way to reach them.)
    if (this.subscriber instanceof Redis) await this.subscriber.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(
      [this.publisher, this.subscriber].filter((c) => c !== null).map((c) => c.quit().catch(() => c.disconnect())),
    );
  }

  /** Subscribes to a channel every gateway holds, again on each reconnect until it succeeds. */
  private subscribeUntilDone(channel: string, name: string): void {
    const subscriber = this.requireSubscriber();
    const subscribe = () =>
      this.subscribeChannel(channel).catch((error: Error) => {
        this.logger.warn(`Subscribing to ${name} failed (${error.message}); retrying on reconnect`);
        subscriber.once(this.sharded ? 'subscribersReady' : 'ready', () => void subscribe());
      });
    void subscribe();
  }

  private async subscribeChannel(channel: string): Promise<void> {
    const subscriber = this.requireSubscriber();
    // The cluster client sends SSUBSCRIBE on its subscriber connection to the master owning the slot.
    await (this.sharded ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel));
  }

  /** The subscriber connection, made on first use. */
  private requireSubscriber(): Redis | Cluster {
    if (!this.subscriber) this.subscriber = this.connectSubscriber();
    return this.subscriber;
  }

  private connectSubscriber(): Redis | Cluster {
    const subscriber = this.connect('subscriber');
    subscriber.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, frame: Buffer) => {
      const name = channel.toString();
      if (name === this.controlChannel) this.controlListener?.(frame.toString());
      else if (name === this.broadcastChannel) this.broadcastListener?.(frame);
      else this.groupListener?.(name.slice(this.prefix.length), frame);
    });
    // ioredis resubscribes by itself after a reconnect, but what was published meanwhile is gone.
    let lost = false;
    const markLost = () => (lost = true);
    subscriber.on('close', markLost);
    // A shard's subscriber connection is not reconnected: ioredis re-reads the slot map (after a
    // lost connection, a failover, the server dropping a migrated slot's channels, or the periodic
    // refresh), rebuilds the subscribers whose shard changed or failed, resubscribes their channels,
    // then emits 'subscribersReady'. The slot map read by the first connect is no loss.
    if (this.sharded) subscriber.once('ready', () => subscriber.on('refresh', markLost));
    subscriber.on(this.sharded ? 'subscribersReady' : 'ready', () => {
      if (!lost) return;
      lost = false;
      this.logger.warn('Redis subscriber reconnected; frames published while it was away were not received');
      for (const reconnected of this.reconnectListeners) reconnected();
    });
    return subscriber;
  }

  private connect(role: 'publisher' | 'subscriber'): Redis | Cluster {
    const connectionName = `notifications-${role}`;
    const client = this.sharded
      ? new Cluster(this.config.REDIS_CLUSTER_NODES, {
          // Only the subscriber gets ioredis' sharded subscribers (one more connection per master).
          shardedSubscribers: role === 'subscriber',
          // When the server drops a migrated slot's channels, ioredis refreshes the slot map at once,
          // often from a node that has not heard of the move yet, and then never looks again: poll.
          slotsRefreshInterval: role === 'subscriber' ? SUBSCRIBER_SLOTS_REFRESH_MS : undefined,
          // Not for the subscriber: an auto-pipelined SSUBSCRIBE goes down the master's command
          // connection, past the sharded subscribers, which then never resubscribe it after a reconnect.
          enableAutoPipelining: role === 'publisher',
          redisOptions: {
            connectionName,
            ...(role === 'subscriber' ? { maxRetriesPerRequest: SUBSCRIBER_COMMAND_RETRIES } : {}),
          },
        })
      : new Redis(this.config.REDIS_URL, {
          enableAutoPipelining: true,
          connectionName,
          ...(role === 'subscriber' ? { maxRetriesPerRequest: SUBSCRIBER_COMMAND_RETRIES } : {}),
        });
    // Without a listener ioredis reports every failed reconnect as an unhandled error event.
    client.on('error', (error: Error) => this.logger.warn(`Redis ${role}: ${error.message}`));
    return client;
  }
}
