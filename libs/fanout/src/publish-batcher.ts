import type { Redis } from 'ioredis';

/** Publishes every channel/frame pair it is given, in order; returns each PUBLISH's receiver count. */
const PUBLISH_ALL = `
local counts = {}
for i = 1, #KEYS do counts[i] = redis.call('PUBLISH', KEYS[i], ARGV[i]) end
return counts`;

interface Pending {
  channel: string;
  frame: string;
  resolve: (receivers: number) => void;
  reject: (error: unknown) => void;
}

type RedisWithPublishAll = Redis & { publishAll(count: number, ...channelsThenFrames: string[]): Promise<number[]> };

/**
 * Sends the frames published in one turn of the event loop as one command, a Lua script that
 * publishes each in order, instead of one PUBLISH each. A worker publishes a whole batch of
 * notifications at once, and one command per frame was the largest part of its garbage (ioredis
 * builds an object, a promise and a buffer per command; docs/benchmarks.md). A frame alone goes
 * as a plain PUBLISH. Order is kept: a batch is sent after the one before it.
 */
export class PublishBatcher {
  private pending: Pending[] = [];
  private readonly redis: RedisWithPublishAll;

  constructor(redis: Redis) {
    redis.defineCommand('publishAll', { lua: PUBLISH_ALL });
    this.redis = redis as RedisWithPublishAll;
  }

  publish(channel: string, frame: string): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ channel, frame, resolve, reject }) === 1) process.nextTick(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1) {
      const [{ channel, frame, resolve, reject }] = batch;
      this.redis.publish(channel, frame).then(resolve, reject);
      return;
    }
    this.redis.publishAll(batch.length, ...batch.map((one) => one.channel), ...batch.map((one) => one.frame)).then(
      (receivers) => batch.forEach((one, index) => one.resolve(receivers[index])),
      (error: unknown) => batch.forEach((one) => one.reject(error)),
    );
  }
}
