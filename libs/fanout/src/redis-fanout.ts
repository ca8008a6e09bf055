import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { Redis } from 'ioredis';

export type FanoutListener = (group: string, frame: Buffer) => void;

/**
 * Carries serialized frames from workers to every gateway instance over Redis pub/sub.
 *
 * Each group is its own channel and a gateway subscribes only to the groups it holds sockets for,
 * so a gateway receives only its own users' traffic and PUBLISH reports how many gateways took a
 * frame. Plain channels rather than patterns: PUBLISH cost grows with every pattern on the server.
 */
@Injectable()
export class RedisFanout implements OnModuleDestroy {
  private readonly logger = new Logger(RedisFanout.name);
  private readonly prefix: string;
  private readonly publisher: Redis;
  private subscriber: Redis | null = null;
  private readonly reconnectListeners: Array<() => void> = [];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.prefix = config.REDIS_CHANNEL_PREFIX;
    this.publisher = this.connect('publisher');
  }

  /** Publishes one frame to a group; resolves to how many gateway instances received it. */
  publish(group: string, frame: string): Promise<number> {
    return this.publisher.publish(this.prefix + group, frame);
  }

  /** Starts receiving; the listener gets the group name and the frame bytes untouched. */
  listen(listener: FanoutListener): void {
    if (this.subscriber) throw new Error('RedisFanout.listen() may be called once');
    this.subscriber = this.connect('subscriber');
    this.subscriber.on('messageBuffer', (channel: Buffer, frame: Buffer) => {
      listener(channel.toString().slice(this.prefix.length), frame);
    });
    // ioredis resubscribes by itself after a reconnect, but what was published meanwhile is gone.
    let lost = false;
    this.subscriber.on('close', () => (lost = true));
    this.subscriber.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.logger.warn('Redis subscriber reconnected; frames published while it was away were not received');
      for (const reconnected of this.reconnectListeners) reconnected();
    });
  }

  /**
   * Called each time the subscriber is back after losing its connection to Redis (frames published
   * in between never arrived). ioredis has resubscribed by then; awaiting `subscribe` of a group
   * again guarantees that group's subscription is live.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async subscribe(group: string): Promise<void> {
    await this.requireSubscriber().subscribe(this.prefix + group);
  }

  async unsubscribe(group: string): Promise<void> {
    await this.requireSubscriber().unsubscribe(this.prefix + group);
  }

  async ping(): Promise<void> {
    await this.publisher.ping();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].filter((c) => c !== null).map((c) => c.quit().catch(() => c.disconnect())));
  }

  private requireSubscriber(): Redis {
    if (!this.subscriber) throw new Error('RedisFanout.listen() must be called before subscribing');
    return this.subscriber;
  }

  private connect(role: string): Redis {
    const client = new Redis(this.config.REDIS_URL, { enableAutoPipelining: true, connectionName: `notifications-${role}` });
    // Without a listener ioredis reports every failed reconnect as an unhandled error event.
    client.on('error', (error) => this.logger.warn(`Redis ${role}: ${error.message}`));
    return client;
  }
}
