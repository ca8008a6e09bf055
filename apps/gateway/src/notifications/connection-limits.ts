import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';

export type Admission = { admitted: true; release: () => void } | { admitted: false; reason: string };

/**
 * Per-gateway caps on WebSocket connections, checked during the handshake so that a refusal costs
 * no socket: connection attempts per IP per second, and open sockets per IP and per user. A slot
 * is taken when a handshake is admitted and given back once, when its TCP connection closes.
 */
@Injectable()
export class ConnectionLimits {
  private readonly attempts = new Map<string, { second: number; count: number }>();
  private readonly socketsPerIp = new Map<string, number>();
  private readonly socketsPerUser = new Map<string, number>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Counts an attempt from `ip`; false once it has made too many this second. Checked before any token work. */
  allowAttempt(ip: string, now = Date.now()): boolean {
    const second = Math.floor(now / 1000);
    const entry = this.attempts.get(ip);
    if (!entry || entry.second !== second) {
      if (this.attempts.size > 100_000) this.attempts.clear(); // bounded memory under a spray of addresses
      this.attempts.set(ip, { second, count: 1 });
      return true;
    }
    return ++entry.count <= this.config.WS_MAX_CONNECTIONS_PER_IP_PER_SECOND;
  }

  admit(ip: string, userId: string): Admission {
    if ((this.socketsPerIp.get(ip) ?? 0) >= this.config.WS_MAX_SOCKETS_PER_IP) return { admitted: false, reason: 'too many sockets from this address' };
    if ((this.socketsPerUser.get(userId) ?? 0) >= this.config.WS_MAX_SOCKETS_PER_USER) return { admitted: false, reason: 'too many sockets for this user' };
    increment(this.socketsPerIp, ip);
    increment(this.socketsPerUser, userId);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        decrement(this.socketsPerIp, ip);
        decrement(this.socketsPerUser, userId);
      },
    };
  }
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
