import { Agent } from 'node:http';
import { WebSocket } from 'ws';

/** What the clients saw of one run. */
export interface DeliveryStats {
  delivered: number;
  duplicates: number;
  latenciesMs: number[];
  firstReceiptAt: number;
  lastReceiptAt: number;
}

/**
 * Authenticated sockets, as many as asked. Past 25,000 they are spread over several 127.0.0.x
 * source addresses (one address pair runs out of ephemeral ports near 28,000 connections); below
 * that they are not bound to an address, because a bound port is unavailable to every other
 * outgoing connection of the machine (the apps' own connections to Postgres among them). Each
 * records the notifications it receives: `message` is `{seq, t}` as the publisher sent it. A
 * notification counts once per socket (a task for a list of users reaches each of them).
 */
/** More than any run opens; seq × this stays far below 2^53. */
const SOCKETS_PER_SEQ = 1 << 20;

export class BenchClients {
  readonly sockets: WebSocket[] = [];
  private seen = new Set<number>();
  private stats = emptyStats();
  private readonly agents = Array.from({ length: 8 }, (_, i) => new Agent({ localAddress: `127.0.0.${i + 2}` }));

  async open(users: string[], urlFor: (userId: string) => string, concurrency = 200): Promise<void> {
    let next = 0;
    const openOne = async (): Promise<void> => {
      while (next < users.length) {
        const index = next++;
        const agent = users.length > 25_000 ? this.agents[index % this.agents.length] : undefined;
        this.sockets.push(await this.connect(urlFor(users[index]), agent, index));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, openOne));
  }

  reset(): void {
    this.seen = new Set();
    this.stats = emptyStats();
  }

  result(): DeliveryStats {
    return this.stats;
  }

  openCount(): number {
    return this.sockets.filter((socket) => socket.readyState === WebSocket.OPEN).length;
  }

  async closeAll(): Promise<void> {
    await Promise.all(
      this.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.terminate();
          }),
      ),
    );
    this.sockets.length = 0;
    for (const agent of this.agents) agent.destroy();
  }

  private connect(url: string, agent: Agent | undefined, index: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { agent, perMessageDeflate: false });
      socket.once('error', reject);
      socket.on('message', (data) => this.receive(data as Buffer, index));
      // The gateway's `connected` frame says the socket will receive; the baseline sends one too.
      socket.once('message', () => resolve(socket));
    });
  }

  private receive(data: Buffer, socketIndex: number): void {
    const now = Date.now();
    const frame = JSON.parse(data.toString());
    const payload = frame.message as { seq?: number; t?: number } | undefined;
    if (typeof payload?.seq !== 'number' || typeof payload.t !== 'number') return;
    // One number per (notification, socket): no string made per frame.
    const key = payload.seq * SOCKETS_PER_SEQ + socketIndex;
    if (this.seen.has(key)) {
      this.stats.duplicates++;
      return;
    }
    this.seen.add(key);
    this.stats.delivered++;
    this.stats.latenciesMs.push(now - payload.t);
    if (this.stats.firstReceiptAt === 0) this.stats.firstReceiptAt = now;
    this.stats.lastReceiptAt = now;
  }
}

function emptyStats(): DeliveryStats {
  return { delivered: 0, duplicates: 0, latenciesMs: [], firstReceiptAt: 0, lastReceiptAt: 0 };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
