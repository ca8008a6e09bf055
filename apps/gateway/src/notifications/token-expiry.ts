import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { SocketCloseCode } from '@app/contracts';
import type { ClientConnection } from './client-connection';

/**
 * Closes each socket with 4001 when the token it was opened with expires (plus the configured
 * grace): a socket must not outlive the credentials that opened it; the client reconnects with a
 * fresh one. One clock for the whole gateway, ticking every second over buckets of the sockets
 * that expire in that second, instead of a timer per socket (a timer and its closure were a tenth
 * of an idle socket's memory: docs/benchmarks.md).
 */
@Injectable()
export class TokenExpiryClock implements OnModuleDestroy {
  private readonly buckets = new Map<number, Set<ClientConnection>>();
  private lastTicked = Math.floor(Date.now() / 1000);
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  /** Closes `connection` once `closeAt` (ms since the epoch) has passed; at once if it has. */
  watch(connection: ClientConnection, closeAt: number): void {
    const second = Math.ceil(closeAt / 1000);
    if (second <= this.lastTicked) return expire(connection);
    connection.expiryBucket = second;
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = new Set()));
    bucket.add(connection);
  }

  forget(connection: ClientConnection): void {
    const bucket = this.buckets.get(connection.expiryBucket);
    if (bucket?.delete(connection) && bucket.size === 0) this.buckets.delete(connection.expiryBucket);
  }

  /** Closes everything due up to now; `now` for tests. */
  tick(now = Date.now()): void {
    const second = Math.floor(now / 1000);
    for (let due = this.lastTicked + 1; due <= second; due++) {
      const bucket = this.buckets.get(due);
      if (!bucket) continue;
      this.buckets.delete(due);
      for (const connection of bucket) expire(connection);
    }
    this.lastTicked = Math.max(this.lastTicked, second);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

function expire(connection: ClientConnection): void {
  connection.close(SocketCloseCode.TokenExpired, 'token expired');
}
