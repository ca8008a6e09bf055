import { MAX_READ_IDS, SocketCloseCode } from '@app/contracts';
import { backoffDelay } from './backoff';
import type {
  ClientError,
  ConnectionState,
  NotificationClientEvents,
  NotificationClientOptions,
  NotificationFrame,
  ReadReceipt,
  WebSocketConstructor,
  WebSocketLike,
} from './types';

type Listener<T> = (payload: T) => void;
type EventName = keyof NotificationClientEvents;

/** The gateway's close codes that change what the client does (docs/websocket-protocol.md). */
const TOKEN_EXPIRED: number = SocketCloseCode.TokenExpired;
const NORMAL: number = SocketCloseCode.Normal;
/** `WebSocket.OPEN`: not every WebSocket implementation passed in has the constant. */
const OPEN = 1;

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A client for the gateway's WebSocket protocol (README, "WebSocket protocol"), for browsers and
 * Node. It keeps one socket open: on a drop it reconnects with exponential backoff and jitter,
 * asking for what it missed with `?since=<highest id seen>`, and drops any notification id it has
 * already delivered, so listeners see each notification once.
 *
 * Reconnection: after any close except `close()`; after 4001 (token expired) only when `token` is a
 * function (it is called again for a fresh token), since the same token would be refused. A static
 * token that has expired is not even tried (its `exp` is read locally).
 */
export class NotificationClient {
  private readonly listeners = new Map<EventName, Set<Listener<never>>>();
  private readonly seen = new Set<number>();
  private readonly pendingReads: Array<Pending<ReadReceipt>> = [];
  private readonly pendingPings = new Map<number, Pending<number> & { sentAt: number }>();
  private readonly WebSocketImpl: WebSocketConstructor;
  private socket: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private everConnected = false;
  private pingSeq = 0;
  private highestId: number | undefined;
  private currentState: ConnectionState = 'idle';
  private closedByUser: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  constructor(private readonly options: NotificationClientOptions) {
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!impl)
      throw new Error('No WebSocket implementation: pass one as the WebSocket option (e.g. the ws package on Node 20)');
    this.WebSocketImpl = impl;
    this.highestId = options.since;
  }

  /** The highest notification id delivered (or the `since` option): what a reconnection resumes from. */
  get lastId(): number | undefined {
    return this.highestId;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  on<E extends EventName>(event: E, listener: Listener<NotificationClientEvents[E]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends EventName>(event: E, listener: Listener<NotificationClientEvents[E]>): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Opens the connection; resolves once the first `connected` frame arrived (the socket receives). */
  connect(): Promise<NotificationClientEvents['connected']> {
    if (this.currentState !== 'idle') throw new Error(`connect() called in state ${this.currentState}`);
    const connected = new Promise<NotificationClientEvents['connected']>((resolve, reject) => {
      const offConnected = this.on('connected', (event) => {
        offConnected();
        offDisconnected();
        resolve(event);
      });
      const offDisconnected = this.on('disconnected', (event) => {
        if (event.willReconnect) return;
        offConnected();
        offDisconnected();
        reject(new Error(`Could not connect (close code ${event.code}${event.reason ? `: ${event.reason}` : ''})`));
      });
    });
    void this.open();
    return connected;
  }

  /** Marks notifications read; resolves to the receipt (`ids` are those that became read). */
  markRead(ids: number | number[]): Promise<ReadReceipt> {
    const list = Array.isArray(ids) ? ids : [ids];
    if (list.length === 0 || list.length > MAX_READ_IDS || !list.every((id) => Number.isSafeInteger(id) && id > 0)) {
      return Promise.reject(new Error(`markRead takes 1-${MAX_READ_IDS} positive integer ids`));
    }
    return this.requestRead({ ids: list });
  }

  markAllRead(): Promise<ReadReceipt> {
    return this.requestRead({ all: true });
  }

  /** Sends a ping; resolves to the round trip in milliseconds. */
  ping(): Promise<number> {
    const seq = ++this.pingSeq;
    return new Promise<number>((resolve, reject) => {
      if (!this.send({ event: 'ping', data: { client_ping: seq } })) return reject(new Error('Not connected'));
      const timer = setTimeout(() => {
        this.pendingPings.delete(seq);
        reject(new Error('No pong within the request timeout'));
      }, this.requestTimeout);
      this.pendingPings.set(seq, { resolve, reject, timer, sentAt: Date.now() });
    });
  }

  /** Closes for good (no reconnection); resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closedByUser) return this.closedByUser;
    this.closedByUser = new Promise((resolve) => (this.resolveClosed = resolve));
    if (this.currentState === 'closed') {
      this.resolveClosed!();
      return this.closedByUser;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.failPending(new Error('Client closed'));
    const socket = this.socket;
    if (socket && socket.readyState <= OPEN) {
      socket.close(NORMAL, 'client closed');
    } else {
      this.finish({ code: NORMAL, reason: 'client closed', willReconnect: false });
    }
    return this.closedByUser;
  }

  private get requestTimeout(): number {
    return this.options.requestTimeoutMs ?? 10_000;
  }

  private requestRead(data: { ids: number[] } | { all: true }): Promise<ReadReceipt> {
    return new Promise<ReadReceipt>((resolve, reject) => {
      if (!this.send({ event: 'read', data })) return reject(new Error('Not connected'));
      const pending: Pending<ReadReceipt> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pendingReads.splice(this.pendingReads.indexOf(pending), 1);
          reject(new Error('No read receipt within the request timeout'));
        }, this.requestTimeout),
      };
      this.pendingReads.push(pending);
    });
  }

  private send(frame: unknown): boolean {
    if (!this.socket || this.socket.readyState !== OPEN || this.currentState !== 'open') return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private async open(): Promise<void> {
    this.currentState = this.everConnected ? 'reconnecting' : 'connecting';
    let token: string;
    try {
      token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    } catch (error) {
      this.emit('error', {
        code: 'token_unavailable',
        message: `The token function failed: ${(error as Error).message}`,
      });
      return this.afterClose(1006, 'no token');
    }
    if (this.closedByUser) return this.finish({ code: NORMAL, reason: 'client closed', willReconnect: false });
    if (typeof this.options.token === 'string' && tokenExpired(token)) {
      this.emit('error', {
        code: 'token_expired',
        message: 'The token has expired; pass a function returning a fresh one to reconnect',
      });
      return this.finish({ code: TOKEN_EXPIRED, reason: 'token expired', willReconnect: false });
    }

    const url = new URL(this.options.url);
    if (this.highestId !== undefined) url.searchParams.set('since', String(this.highestId));
    // The token goes in the subprotocol pair rather than the URL, which proxies may log.
    const socket = new this.WebSocketImpl(url.toString(), ['bearer', token]);
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => undefined; // a close event always follows
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.afterClose(event.code, event.reason);
    };
  }

  private receive(data: unknown): void {
    let frame: { event?: unknown; data?: unknown; id?: unknown };
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      return this.emit('error', { code: 'invalid_server_frame', message: 'The server sent a frame that is not JSON' });
    }
    switch (frame.event) {
      case 'notification':
        return this.deliver(frame as NotificationFrame);
      case 'connected': {
        this.currentState = 'open';
        this.attempt = 0;
        // Until something arrives, a reconnection resumes from where this socket started.
        const { last_id: startsAfter } = frame.data as { last_id?: unknown };
        if (this.highestId === undefined && typeof startsAfter === 'number') this.highestId = startsAfter;
        this.emit('connected', {
          ...(frame.data as NotificationClientEvents['connected']),
          reconnected: this.everConnected,
        });
        this.everConnected = true;
        return;
      }
      case 'read':
        return this.emit('read', frame.data as ReadReceipt);
      case 'read_confirmed': {
        const pending = this.pendingReads.shift();
        if (pending) {
          clearTimeout(pending.timer);
          pending.resolve(frame.data as ReadReceipt);
        }
        return;
      }
      case 'pong':
        return this.pong(frame.data);
      case 'resumed':
        return this.emit('resumed', frame.data as NotificationClientEvents['resumed']);
      case 'resume_gap':
        return this.emit('gap', frame.data as NotificationClientEvents['gap']);
      case 'error': {
        const error = frame.data as ClientError;
        // A read the server could not take is answered with an error frame instead of a receipt.
        if ((error.code === 'invalid_data' || error.code === 'unavailable') && this.pendingReads.length > 0) {
          const pending = this.pendingReads.shift()!;
          clearTimeout(pending.timer);
          pending.reject(new Error(`${error.code}: ${error.message}`));
        }
        return this.emit('error', error);
      }
    }
  }

  private deliver(frame: NotificationFrame): void {
    if (typeof frame.id !== 'number') return this.emit('notification', frame);
    if (this.seen.has(frame.id)) return;
    this.seen.add(frame.id);
    const window = this.options.dedupeWindow ?? 10_000;
    if (this.seen.size > window) this.seen.delete(this.seen.values().next().value!);
    // The highest, not the latest: live notifications of two workers may arrive out of id order.
    if (this.highestId === undefined || frame.id > this.highestId) this.highestId = frame.id;
    this.emit('notification', frame);
  }

  private pong(data: unknown): void {
    const seq = (data as { client_ping?: unknown } | null)?.client_ping;
    const pending = typeof seq === 'number' ? this.pendingPings.get(seq) : undefined;
    if (!pending) return;
    this.pendingPings.delete(seq as number);
    clearTimeout(pending.timer);
    pending.resolve(Date.now() - pending.sentAt);
  }

  private afterClose(code: number, reason: string): void {
    this.failPending(new Error(`Connection closed (${code})`));
    if (this.closedByUser) return this.finish({ code, reason, willReconnect: false });
    const reconnect = this.options.reconnect === false ? null : (this.options.reconnect ?? {});
    const tokenRefreshable = typeof this.options.token === 'function';
    const giveUp =
      !reconnect ||
      (code === TOKEN_EXPIRED && !tokenRefreshable) ||
      (reconnect.maxAttempts !== undefined && this.attempt >= reconnect.maxAttempts);
    if (giveUp) return this.finish({ code, reason, willReconnect: false });

    // A gateway shutting down (1001) or an expired token with a fresh one to hand: come back soon,
    // still with jitter; anything else backs off further with every attempt in a row.
    const delayMs = backoffDelay(this.attempt, reconnect, this.options.random);
    this.attempt++;
    this.currentState = 'reconnecting';
    this.emit('disconnected', { code, reason, willReconnect: true, delayMs });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.open();
    }, delayMs);
  }

  private finish(event: NotificationClientEvents['disconnected']): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.emit('disconnected', event);
    this.resolveClosed?.();
  }

  private failPending(error: Error): void {
    for (const pending of this.pendingReads.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    for (const pending of this.pendingPings.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pendingPings.clear();
  }

  private emit<E extends EventName>(event: E, payload: NotificationClientEvents[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<NotificationClientEvents[E]>)(payload);
      } catch (error) {
        // A failing listener must not break the client or the other listeners.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

/** Whether a JWT's `exp` has passed (read without verifying: the server verifies). */
export function tokenExpired(token: string, now = Date.now()): boolean {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof exp === 'number' && exp * 1000 <= now;
  } catch {
    return false;
  }
}
