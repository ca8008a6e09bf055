import { WebSocket } from 'ws';
import { signToken } from '@test/support/test-context';

/** Short, as simplejwt's 5-minute access tokens scaled down: every scenario outlives a few. */
const TOKEN_LIFETIME_SECONDS = 15;
/**
 * A fresh token is sent this long before the current one expires: enough for a gateway starved of
 * CPU while RabbitMQ boots on the same 2 cores (5 s was not: 20 of 140 sockets expired in one CI run).
 */
const REFRESH_LEAD_MS = 8000;

/**
 * One browser tab of a user, as a real frontend behaves: it connects with `since` = the last id it
 * saw, drops ids it has already seen, retries a failed catch-up (`unavailable`) with a `resume`
 * frame, refreshes its short-lived token in place (a `refresh` frame) instead of being closed at
 * expiry, and on close reconnects with backoff to the next live gateway.
 */
export class FrontendClient {
  /** The highest notification id seen: what `since` says on reconnect. */
  lastId = 0;
  /** Notification frames dropped because their id had been seen already. */
  duplicates = 0;
  /** Notifications kept after dropping seen ids, by task id (each must end at exactly 1). */
  readonly received = new Map<string, number>();
  connects = 0;
  gaps = 0;
  unavailable = 0;
  /** Tokens refreshed in place, and sockets closed because their token expired (4001: none expected). */
  refreshes = 0;
  expiryCloses = 0;
  private readonly seen = new Set<number>();
  /**
   * The `since` of a catch-up not yet confirmed by `resumed`: until it is, a reconnect asks from
   * there again (live frames may have raised `lastId` above notifications still to be caught up).
   */
  private pendingSince: number | null = null;
  private socket: WebSocket | null = null;
  private attempt = 0;
  private gatewayIndex: number;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private token: { jwt: string; expiresAt: number };
  private offered: { jwt: string; expiresAt: number } | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly userId: string,
    private readonly gateways: () => string[],
    firstGateway: number,
  ) {
    this.gatewayIndex = firstGateway;
    this.token = this.mint();
  }

  private mint(): { jwt: string; expiresAt: number } {
    return {
      jwt: signToken({ user_id: this.userId }, process.env.JWT_SECRET, { expiresIn: TOKEN_LIFETIME_SECONDS }),
      expiresAt: Date.now() + TOKEN_LIFETIME_SECONDS * 1000,
    };
  }

  get isConnected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.connectedSocket === this.socket;
  }
  private connectedSocket: WebSocket | null = null;

  start(): void {
    this.connect();
  }

  /** Drops the connection abruptly (no close handshake); the client reconnects by itself. */
  drop(): void {
    this.socket?.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.terminate();
    await closed;
  }

  private connect(): void {
    if (this.stopped) return;
    const live = this.gateways();
    const base = live[this.gatewayIndex % Math.max(1, live.length)];
    if (!base) return this.retry();
    const since = (this.pendingSince ??= this.lastId);
    // A token about to be refreshed is not worth a handshake: a slow one could outlast it.
    if (this.token.expiresAt - Date.now() < 2 * REFRESH_LEAD_MS) this.token = this.mint();
    const socket = new WebSocket(`${base}/ws/notifications/?token=${this.token.jwt}&since=${since}`);
    this.socket = socket;
    // From the upgrade on, the gateway holds the socket to the token's expiry: refresh from then,
    // not from `connected`, which a busy gateway may send seconds later.
    socket.on('open', () => this.scheduleRefresh(socket));
    socket.on('message', (data) => this.onFrame(socket, JSON.parse((data as Buffer).toString())));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', (code) => {
      if (code === 4001) this.expiryCloses++;
      if (this.socket !== socket) return;
      this.connectedSocket = null;
      this.gatewayIndex++; // alternate between the live gateways
      this.retry();
    });
  }

  /** Before the token expires, a new one goes in a `refresh` frame; `refreshed` makes it current. */
  private scheduleRefresh(socket: WebSocket): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(
      () => {
        if (this.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
        this.offered = this.mint();
        socket.send(JSON.stringify({ event: 'refresh', data: { token: this.offered.jwt } }));
      },
      Math.max(0, this.token.expiresAt - REFRESH_LEAD_MS - Date.now()),
    );
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = Math.min(2000, 100 * 2 ** this.attempt++) * (0.5 + Math.random());
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private onFrame(
    socket: WebSocket,
    frame: { event: string; id?: number; task_id?: string; data?: { code?: string } },
  ): void {
    switch (frame.event) {
      case 'connected':
        this.connects++;
        this.attempt = 0;
        this.connectedSocket = socket;
        return;
      case 'refreshed':
        if (this.offered) this.token = this.offered;
        this.refreshes++;
        this.scheduleRefresh(socket);
        return;
      case 'notification': {
        const id = frame.id!;
        if (this.seen.has(id)) {
          this.duplicates++;
          return;
        }
        this.seen.add(id);
        this.lastId = Math.max(this.lastId, id);
        this.received.set(frame.task_id!, (this.received.get(frame.task_id!) ?? 0) + 1);
        return;
      }
      case 'resumed':
        this.pendingSince = null;
        return;
      case 'resume_gap':
        this.gaps++;
        return;
      case 'error':
        if (frame.data?.code !== 'unavailable') return;
        // The catch-up could not read the inbox: ask again a little later, from the same id.
        this.unavailable++;
        setTimeout(() => {
          if (socket.readyState === WebSocket.OPEN)
            socket.send(JSON.stringify({ event: 'resume', data: { since: this.pendingSince ?? this.lastId } }));
        }, 500);
        return;
    }
  }
}
