import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { SseConfig } from '@app/config';
import type { SseTransport } from './sse-transport';

/**
 * Writes a comment line to every open stream every SSE_KEEPALIVE_SECONDS: one timer for the
 * gateway, not one per stream (as the token-expiry clock, for the same memory reason).
 */
@Injectable()
export class StreamKeepAlive implements OnModuleDestroy {
  private readonly streams = new Set<SseTransport>();
  private readonly timer: NodeJS.Timeout;

  constructor(config: SseConfig) {
    this.timer = setInterval(() => this.tick(), config.SSE_KEEPALIVE_SECONDS * 1000);
    this.timer.unref();
  }

  add(stream: SseTransport): void {
    this.streams.add(stream);
  }

  forget(stream: SseTransport): void {
    this.streams.delete(stream);
  }

  tick(): void {
    for (const stream of this.streams) stream.keepAlive();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
