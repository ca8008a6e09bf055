import { Injectable } from '@nestjs/common';
import { WebSocketConfig } from '@app/config';
import { isIP } from 'node:net';

export type Admission = { admitted: true; release: () => void } | { admitted: false; reason: string };

/** The most client addresses whose connection attempts are counted at once (bounded memory). */
export const MAX_TRACKED_ADDRESSES = 100_000;

/**
 * Per-gateway caps on WebSocket connections, checked during the handshake so that a refusal costs
 * no socket: connection attempts per address per second, and open sockets per address and per
 * user. A slot is taken when a handshake is admitted and given back once, when its TCP connection
 * closes. An "address" is what `clientAddressKey` makes of the client's IP: an IPv6 client counts
 * by its /64.
 */
@Injectable()
export class ConnectionLimits {
  private readonly attempts = new Map<string, { second: number; count: number }>();
  private readonly socketsPerIp = new Map<string, number>();
  private readonly socketsPerUser = new Map<string, number>();
  /** The last second in which a full attempts map was swept of older seconds' entries. */
  private sweptSecond: number | null = null;

  constructor(private readonly config: WebSocketConfig) {}

  /** Counts an attempt from `ip`; false once it has made too many this second. Checked before any token work. */
  allowAttempt(ip: string, now = Date.now()): boolean {
    const key = clientAddressKey(ip);
    const second = Math.floor(now / 1000);
    const entry = this.attempts.get(key);
    if (entry?.second === second) return ++entry.count <= this.config.WS_MAX_CONNECTIONS_PER_IP_PER_SECOND;
    if (entry) {
      entry.second = second;
      entry.count = 1;
      return true;
    }
    if (this.attempts.size >= MAX_TRACKED_ADDRESSES) this.forgetOtherSeconds(second);
    // Still full of this second's addresses: refusing the newcomer until the next second keeps every
    // count, where evicting any entry would give a flooding address a fresh budget.
    if (this.attempts.size >= MAX_TRACKED_ADDRESSES) return false;
    this.attempts.set(key, { second, count: 1 });
    return true;
  }

  /** How many addresses the attempts map holds (at most MAX_TRACKED_ADDRESSES). */
  get trackedAddresses(): number {
    return this.attempts.size;
  }

  /** Once a second at most, so a spray of new addresses into a full map costs one sweep a second. */
  private forgetOtherSeconds(second: number): void {
    if (this.sweptSecond === second) return;
    this.sweptSecond = second;
    // Any other second, not only earlier ones: after the clock went back, entries ahead of it would never be forgotten.
    for (const [key, entry] of this.attempts) if (entry.second !== second) this.attempts.delete(key);
  }

  admit(ip: string, userId: string): Admission {
    const address = clientAddressKey(ip);
    if ((this.socketsPerIp.get(address) ?? 0) >= this.config.WS_MAX_SOCKETS_PER_IP)
      return { admitted: false, reason: 'too many sockets from this address' };
    if ((this.socketsPerUser.get(userId) ?? 0) >= this.config.WS_MAX_SOCKETS_PER_USER)
      return { admitted: false, reason: 'too many sockets for this user' };
    increment(this.socketsPerIp, address);
    increment(this.socketsPerUser, userId);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        decrement(this.socketsPerIp, address);
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

/**
 * What the per-address limits count a client IP as. IPv4 as itself; an IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, how a dual-stack socket reports IPv4 peers) as that IPv4 address; any other
 * IPv6 address by its /64 (`2001:db8:0:1::/64`), since one subscriber's network or host is routinely
 * given a whole /64 and could otherwise take a fresh budget from each of its 2^64 addresses.
 * Anything else (no address known) as it is.
 */
export function clientAddressKey(ip: string): string {
  const address = ip.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) names an interface, not a host
  if (isIP(address) !== 6) return ip;
  const groups = ipv6Groups(address);
  const mappedIpv4 = groups.slice(0, 6).every((group, i) => group === (i === 5 ? 0xffff : 0));
  if (mappedIpv4) return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  const dottedTail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const hex = dottedTail
    ? `${address.slice(0, dottedTail.index)}${((+dottedTail[1] << 8) | +dottedTail[2]).toString(16)}:${((+dottedTail[3] << 8) | +dottedTail[4]).toString(16)}`
    : address;
  const [head, tail] = hex.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [before, after] = [parse(head), parse(tail)];
  return tail === undefined
    ? before
    : [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}
