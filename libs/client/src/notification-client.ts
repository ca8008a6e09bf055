import { backoffDelay } from './backoff';
import { closeAction } from './close-codes';
import { apiBaseOf, socketUrlOf } from './endpoints';
import { InboxRest, frameOf } from './inbox-rest';
import { checkOptions } from './options';
import { defaultEnvironment, isOnline, listenToPage } from './page-signals';
import { PendingRequests, RequestError } from './pending-requests';
import { SseSocket } from './sse-socket';
import type { AnswerFrame } from './pending-requests';
import { CloseCode, MAX_READ_IDS } from './protocol';
import type { BroadcastFrame, NotificationFrame, ReadReceipt, ServerFrameData } from './protocol';
import { tokenExpired, tokenTimes } from './token';
import { TypedEmitter } from './typed-emitter';
import type {
  ClientEnvironment,
  ConnectedEvent,
  ConnectionState,
  EventSourceConstructor,
  NotificationClientEvents,
  NotificationClientOptions,
  WebSocketConstructor,
  WebSocketLike,
} from './types';

/** `WebSocket.OPEN`: not every WebSocket implementation passed in has the constant. */
const OPEN = 1;
/** A cached token this close to its expiry is not used for a new connection. */
const TOKEN_MIN_REMAINING_MS = 10_000;
/** Broadcast ids remembered for de-duplication (broadcasts are few: a day's worth, and then some). */
const MAX_REMEMBERED_BROADCASTS = 1000;
const TERMINAL: ReadonlySet<ConnectionState> = new Set(['idle', 'closed', 'unauthorized', 'failed']);

type TimerName = 'reconnect' | 'connectTimeout' | 'ping' | 'refresh' | 'stable' | 'catchUp';

/** The socket went away while a request waited: a read may then go over REST. */
class ConnectionLost extends Error {}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A client for the gateway's WebSocket protocol (docs/sdk.md), for browsers and Node; `M` is the
 * type of the notifications' `message`. It keeps one socket open through drops, refused
 * handshakes, token expiry, sleep and network changes, resumes from the highest id it delivered
 * (or the socket's position), and delivers each notification once.
 */
export class NotificationClient<M = unknown> {
  private readonly events: TypedEmitter<NotificationClientEvents<M>>;
  private readonly requests = new PendingRequests();
  private readonly seen = new Set<number>();
  private readonly seenBroadcasts = new Set<number>();
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly EventSourceImpl: EventSourceConstructor | undefined;
  private readonly url: URL;
  private readonly streamUrl: URL;
  /** Connections go over Server-Sent Events (`transport: 'sse'`, or `auto` after a WebSocket could not be opened). */
  private usingSse: boolean;
  private readonly environment: ClientEnvironment;
  /** The inbox over REST, for reads while the socket is down; null without `fetch` or with `apiUrl: false`. */
  readonly rest: InboxRest | null;
  private socket: WebSocketLike | null = null;
  /** The current socket got its `connected` frame. */
  private socketConnected = false;
  private currentState: ConnectionState = 'idle';
  private highestId: number | undefined;
  private highestBroadcastId: number | undefined;
  /** The `since` of a catch-up asked for and not ended (`resumed`/`resume_gap`): reconnect from it. */
  private catchUpSince: number | undefined;
  private catchUpRef: string | undefined;
  private catchUpRetries = 0;
  private attempt = 0;
  private handshakeFailures = 0;
  /** The last close was 1008/4008: a quick `connected` does not reset the backoff. */
  private penalty = false;
  private everConnected = false;
  private lastConnected: ConnectedEvent | undefined;
  /** The token in use (from a token function: kept until it nears expiry or is refused). */
  private token: string | undefined;
  private tokenObtainedAt = 0;
  /** Bumped whenever what an async step started for may have changed; a step that sees another value stops. */
  private generation = 0;
  private connecting: Deferred<ConnectedEvent> | null = null;
  private stopListening: (() => void) | null = null;
  private suspendedByPage = false;
  private nextRef = 0;

  constructor(private readonly options: NotificationClientOptions) {
    checkOptions(options);
    this.WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
    this.usingSse = this.startsWithSse();
    if (this.usingSse && !this.EventSourceImpl)
      throw new TypeError(
        'No EventSource implementation: pass one as the EventSource option (e.g. the eventsource package on Node)',
      );
    if (!this.usingSse && !this.WebSocketImpl)
      throw new TypeError(
        'No WebSocket implementation: pass one as the WebSocket option (e.g. the ws package on Node 20)',
      );
    this.url = socketUrlOf(options.url);
    this.streamUrl = new URL(
      options.streamUrl ??
        `${typeof options.apiUrl === 'string' ? options.apiUrl : apiBaseOf(this.url)}/api/notifications/stream`,
    );
    this.highestId = options.since;
    this.highestBroadcastId = options.broadcastSince;
    this.environment = options.environment ?? defaultEnvironment();
    this.events = new TypedEmitter((event, error) => this.listenerFailed(String(event), error));
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: NotificationClientOptions['fetch'] }).fetch;
    this.rest =
      options.apiUrl === false || !fetchImpl
        ? null
        : new InboxRest(options.apiUrl ?? apiBaseOf(this.url), () => this.currentToken(), fetchImpl.bind(globalThis));
  }

  /** The highest notification id delivered (or the `since` option, or the socket's position). */
  get lastId(): number | undefined {
    return this.highestId;
  }

  /** The highest broadcast id delivered (or the `broadcastSince` option, or the socket's position): keep it to resume from. */
  get lastBroadcastId(): number | undefined {
    return this.highestBroadcastId;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The transport connections use now (with `auto`: `sse` once a WebSocket could not be opened). */
  get transport(): 'websocket' | 'sse' {
    return this.usingSse ? 'sse' : 'websocket';
  }

  on<E extends keyof NotificationClientEvents<M>>(
    event: E,
    listener: (payload: NotificationClientEvents<M>[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  once<E extends keyof NotificationClientEvents<M>>(
    event: E,
    listener: (payload: NotificationClientEvents<M>[E]) => void,
  ): () => void {
    return this.events.once(event, listener);
  }

  off<E extends keyof NotificationClientEvents<M>>(
    event: E,
    listener: (payload: NotificationClientEvents<M>[E]) => void,
  ): void {
    this.events.off(event, listener);
  }

  removeAllListeners(event?: keyof NotificationClientEvents<M>): void {
    this.events.removeAllListeners(event);
  }

  /**
   * Opens the connection (again after `close()` or a terminal state); resolves on the server's
   * `connected` frame, rejects when the client stops before one. Called while connecting, it
   * returns the same promise; while connected, the last `connected` event.
   */
  connect(): Promise<ConnectedEvent> {
    if (this.currentState === 'connected' && this.lastConnected) return Promise.resolve(this.lastConnected);
    if (!this.connecting) {
      let resolve!: (value: ConnectedEvent) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<ConnectedEvent>((ok, fail) => ([resolve, reject] = [ok, fail]));
      // A caller that drops the promise (React effects) must not get an unhandled rejection.
      promise.catch(() => undefined);
      this.connecting = { promise, resolve, reject };
    }
    if (TERMINAL.has(this.currentState)) {
      this.suspendedByPage = false;
      this.attempt = 0;
      this.handshakeFailures = 0;
      this.penalty = false;
      this.usingSse = this.startsWithSse();
      this.stopListening ??= listenToPage(this.environment, this.pageReactions());
      this.setState('connecting', 'connect()');
      this.startSocket();
    }
    return this.connecting.promise;
  }

  /** Marks notifications read; resolves to the receipt (`ids` are those that became read). Over REST while reconnecting. */
  markRead(ids: number | number[]): Promise<ReadReceipt> {
    const list = Array.isArray(ids) ? ids : [ids];
    if (list.length === 0 || list.length > MAX_READ_IDS || !list.every((id) => Number.isSafeInteger(id) && id > 0)) {
      return Promise.reject(new TypeError(`markRead takes 1-${MAX_READ_IDS} positive integer ids`));
    }
    return this.read({ ids: list }, (rest) => rest.markRead(list));
  }

  markAllRead(): Promise<ReadReceipt> {
    return this.read({ all: true }, (rest) => rest.markAllRead());
  }

  /** Sends a ping (waiting for the connection while reconnecting); resolves to the round trip in ms. WebSocket only. */
  async ping(): Promise<number> {
    if (this.usingSse) throw new Error('ping needs the WebSocket transport: a Server-Sent Events stream only receives');
    if (!this.socketConnected) await this.whenConnected();
    const sentAt = Date.now();
    await this.request('ping', null);
    return Date.now() - sentAt;
  }

  /** Closes for good (no reconnection until `connect()`); resolves once the socket is closed. */
  close(): Promise<void> {
    this.suspendedByPage = false;
    this.stopListening?.();
    this.stopListening = null;
    if (TERMINAL.has(this.currentState)) {
      if (this.currentState !== 'closed') this.setState('closed', 'close()');
      return Promise.resolve();
    }
    return this.stop('closed', CloseCode.Normal, 'client closed');
  }

  // ---- connecting -------------------------------------------------------------------------

  private startSocket(): void {
    this.openSocket().catch((error: unknown) => this.emitError('internal', (error as Error).message));
  }

  private async openSocket(): Promise<void> {
    const generation = ++this.generation;
    this.clearTimer('reconnect');
    // Offline, an attempt can only fail: the `online` event starts the next one.
    if (!isOnline(this.environment)) return;
    let token: string;
    try {
      token = await this.currentToken();
    } catch (error) {
      if (generation !== this.generation) return;
      this.emitError('token_unavailable', `The token function failed: ${(error as Error).message}`);
      return this.afterFailure(CloseCode.Abnormal, 'no token');
    }
    if (generation !== this.generation) return;
    if (typeof this.options.token === 'string' && tokenExpired(token)) {
      this.emitError('token_expired', 'The token has expired; pass a function returning a fresh one to reconnect');
      void this.stop('unauthorized', CloseCode.TokenExpired, 'token expired');
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = this.usingSse
        ? new SseSocket(this.EventSourceImpl!, this.nextUrl(this.streamUrl, token))
        : new this.WebSocketImpl!(this.nextUrl(this.url), ['bearer', token]);
    } catch (error) {
      // A token the WebSocket refuses as a subprotocol, mixed content (ws:// from an https page)...
      if (this.fallBackToSse(`the WebSocket could not be made: ${(error as Error).message}`)) return this.startSocket();
      this.emitError(
        'socket_refused',
        `The ${this.transport === 'sse' ? 'stream' : 'WebSocket'} could not be opened: ${(error as Error).message}`,
      );
      if (typeof this.options.token === 'string') return void this.stop('failed', CloseCode.Abnormal, 'socket refused');
      this.token = undefined;
      return this.afterFailure(CloseCode.Abnormal, 'socket refused');
    }
    this.socket = socket;
    this.socketConnected = false;
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onerror = () => undefined; // a close event always follows
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.dropSocket();
      this.afterClose(event.code, event.reason);
    };
    this.setTimer('connectTimeout', this.options.connectTimeoutMs ?? 15_000, () =>
      this.abandon(socket, 'no connected frame within connectTimeoutMs'),
    );
  }

  /** The socket's or the stream's URL, with `since` (and for a stream, which cannot send headers, the token). */
  private nextUrl(base: URL, token?: string): string {
    const url = new URL(base.toString());
    const since = this.catchUpSince ?? this.highestId;
    if (since !== undefined) {
      this.catchUpSince = since;
      url.searchParams.set('since', String(since));
    }
    if (this.highestBroadcastId !== undefined) url.searchParams.set('broadcast_since', String(this.highestBroadcastId));
    if (token !== undefined) url.searchParams.set('token', token);
    return url.toString();
  }

  private startsWithSse(): boolean {
    const transport = this.options.transport ?? 'auto';
    return transport === 'sse' || (transport === 'auto' && !this.WebSocketImpl && this.EventSourceImpl !== undefined);
  }

  /**
   * With `auto`: a WebSocket that could not be opened (before any ever reached `connected`) makes
   * this and every later connection a Server-Sent Events stream, until `close()`. A proxy that
   * breaks WebSockets breaks every one of them, so the WebSocket is not tried again.
   */
  private fallBackToSse(why: string): boolean {
    if ((this.options.transport ?? 'auto') !== 'auto' || this.usingSse || this.everConnected || !this.EventSourceImpl)
      return false;
    this.usingSse = true;
    this.log(`${why}; using Server-Sent Events`);
    return true;
  }

  /** The token to connect or call REST with: a static one, or a token function's (asked again when needed). */
  private async currentToken(): Promise<string> {
    const source = this.options.token;
    if (typeof source === 'string') return source;
    const expiresAt = this.token === undefined ? undefined : tokenTimes(this.token).expiresAt;
    if (this.token !== undefined && (expiresAt === undefined || expiresAt - Date.now() > TOKEN_MIN_REMAINING_MS)) {
      return this.token;
    }
    const token = await this.askTokenFunction(source);
    this.token = token;
    this.tokenObtainedAt = Date.now();
    return token;
  }

  private async askTokenFunction(source: () => string | Promise<string>): Promise<string> {
    const timeoutMs = this.options.tokenTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no token within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const token = await Promise.race([Promise.resolve().then(source), timeout]);
      if (typeof token !== 'string' || token === '') throw new Error(`it returned ${JSON.stringify(token)}`);
      return token;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- closes -----------------------------------------------------------------------------

  /** Detaches the current socket: its late events are ignored, its requests fail. */
  private dropSocket(): void {
    this.socket = null;
    for (const name of ['connectTimeout', 'ping', 'refresh', 'catchUp', 'stable'] as const) this.clearTimer(name);
    this.requests.failAll(new ConnectionLost('Connection closed'));
  }

  /** Gives up on a socket that is stuck (no `connected`, no pong) as if it had dropped. */
  private abandon(socket: WebSocketLike, reason: string): void {
    if (this.socket !== socket) return;
    this.dropSocket();
    closeQuietly(socket, CloseCode.Normal, reason);
    this.afterClose(CloseCode.Abnormal, reason);
  }

  private afterClose(code: number, reason: string): void {
    const wasConnected = this.socketConnected;
    this.socketConnected = false;
    if (!wasConnected) return this.afterFailure(code, reason);
    switch (closeAction(code)) {
      case 'client_bug':
        this.emitError(
          'protocol_error',
          `The server closed the socket with ${code} (${reason}): it could not take a frame`,
        );
        return void this.stop('failed', code, reason);
      case 'final':
        return void this.stop('closed', code, reason || 'disconnected by the server');
      case 'token_expired':
        if (typeof this.options.token === 'string') {
          this.emitError('token_expired', 'The token has expired; pass a function returning a fresh one to reconnect');
          return void this.stop('unauthorized', code, reason);
        }
        this.token = undefined;
        break;
      case 'penalty':
        this.penalty = true;
        break;
      case 'retry':
        break;
    }
    this.scheduleReconnect(code, reason);
  }

  /**
   * A connection attempt that never reached `connected`. Browsers report a refused handshake (401,
   * 403, 429) like a dropped one (1006), so after `maxHandshakeFailures` in a row the client stops;
   * halfway, a token function is asked for a new token.
   */
  private afterFailure(code: number, reason: string): void {
    if (isOnline(this.environment) && this.fallBackToSse(`the WebSocket closed with ${code} before connected`))
      return this.startSocket();
    if (isOnline(this.environment)) this.handshakeFailures++;
    const limit = this.options.maxHandshakeFailures ?? 8;
    if (this.handshakeFailures >= limit) {
      this.emitError(
        'handshake_refused',
        `${this.handshakeFailures} connection attempts in a row failed: the token may be refused, or the gateway is down`,
      );
      return void this.stop('unauthorized', code, `handshake failed ${this.handshakeFailures} times`);
    }
    if (this.handshakeFailures === Math.ceil(limit / 2)) this.token = undefined;
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    const reconnect = this.options.reconnect;
    if (reconnect === false) return void this.stop('closed', code, reason);
    if (reconnect?.maxAttempts !== undefined && this.attempt >= reconnect.maxAttempts) {
      return void this.stop(
        'failed',
        code,
        `${reason || `close code ${code}`}; gave up after ${this.attempt} attempts`,
      );
    }
    const delayMs = backoffDelay(this.attempt, reconnect ?? {}, this.options.random);
    this.attempt++;
    this.setState('reconnecting', `close code ${code}${reason ? `: ${reason}` : ''}`);
    this.events.emit('disconnected', { code, reason, willReconnect: true, delayMs });
    this.setTimer('reconnect', delayMs, () => this.startSocket());
  }

  /** Ends in a state that only `connect()` leaves; resolves once the socket (if any) has closed. */
  private stop(state: ConnectionState, code: number, reason: string): Promise<void> {
    this.generation++;
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    const socket = this.socket;
    this.socketConnected = false;
    this.dropSocket();
    const closed = socket ? closeAndWait(socket, reason) : Promise.resolve();
    this.requests.failAll(new Error('Client closed'));
    this.setState(state, reason);
    this.events.emit('disconnected', { code, reason, willReconnect: false });
    this.connecting?.reject(new Error(`Could not connect (close code ${code}${reason ? `: ${reason}` : ''})`));
    this.connecting = null;
    return closed;
  }

  // ---- frames -----------------------------------------------------------------------------

  private receive(data: unknown): void {
    let frame: AnswerFrame;
    try {
      frame = JSON.parse(typeof data === 'string' ? data : String(data));
    } catch {
      return this.emitError('invalid_server_frame', 'The server sent a frame that is not JSON');
    }
    switch (frame.event) {
      case 'notification':
        return this.deliver(frame as unknown as NotificationFrame<M>);
      case 'broadcast':
        return this.deliverBroadcast(frame as unknown as BroadcastFrame);
      case 'connected':
        return this.onConnected(frame.data as ServerFrameData['connected']);
      case 'read':
        return this.events.emit('read', frame.data as ReadReceipt);
      case 'resumed':
        this.endCatchUp();
        return this.events.emit('resumed', frame.data as ServerFrameData['resumed']);
      case 'resume_gap':
        this.endCatchUp();
        return void this.fillGap(frame.data as ServerFrameData['resume_gap']);
      case 'error':
        return this.onErrorFrame(frame);
      default:
        this.requests.settle(frame); // read_confirmed, pong, refreshed
    }
  }

  private onConnected(data: ServerFrameData['connected']): void {
    this.clearTimer('connectTimeout');
    this.socketConnected = true;
    this.handshakeFailures = 0;
    if (!this.penalty) this.attempt = 0;
    else
      this.setTimer('stable', this.options.reconnect ? (this.options.reconnect.maxDelayMs ?? 30_000) : 30_000, () => {
        this.attempt = 0;
        this.penalty = false;
      });
    // Until something arrives, a reconnection resumes from where this socket started.
    if (this.highestId === undefined && typeof data.last_id === 'number') this.highestId = data.last_id;
    if (this.highestBroadcastId === undefined && typeof data.last_broadcast_id === 'number')
      this.highestBroadcastId = data.last_broadcast_id;
    const event: ConnectedEvent = { ...data, reconnected: this.everConnected, transport: this.transport };
    this.everConnected = true;
    this.lastConnected = event;
    this.setState(
      'connected',
      this.catchUpSince === undefined ? 'connected' : `connected, resuming after ${this.catchUpSince}`,
    );
    this.schedulePing();
    this.scheduleRefresh();
    this.events.emit('connected', event);
    this.connecting?.resolve(event);
    this.connecting = null;
  }

  private onErrorFrame(frame: AnswerFrame): void {
    if (this.requests.settle(frame)) return; // the request's promise rejects with it
    const error = frame.data as { code: string; message: string };
    const aboutCatchUp = frame.ref === undefined || frame.ref === this.catchUpRef;
    if (error.code === 'unavailable' && aboutCatchUp && this.catchUpSince !== undefined) {
      this.events.emit('error', { ...error, catchUp: true });
      return this.retryCatchUp();
    }
    this.events.emit('error', error);
  }

  /**
   * The gateway could not read the inbox for a catch-up. It retries by itself; the client also
   * asks again with backoff (a `resume` from the same `since`) until `resumed`, and reconnects from
   * that `since` meanwhile, so the missed range is never skipped.
   */
  private retryCatchUp(): void {
    // A stream cannot ask; the gateway retries the catch-up by itself while the stream is open.
    if (this.usingSse) return;
    const since = this.catchUpSince!;
    const delay = backoffDelay(this.catchUpRetries++, this.options.reconnect || {}, this.options.random);
    this.setTimer('catchUp', delay, () => {
      if (this.catchUpSince !== since || !this.socket) return;
      this.catchUpRef = `c${++this.nextRef}`;
      this.socket.send(JSON.stringify({ event: 'resume', data: { since }, ref: this.catchUpRef }));
    });
  }

  private endCatchUp(): void {
    this.catchUpSince = undefined;
    this.catchUpRef = undefined;
    this.catchUpRetries = 0;
    this.clearTimer('catchUp');
  }

  /**
   * More than the resume window was missed: fetches the missed range over REST (oldest first,
   * up to `maxGapFill`) and delivers it like the socket would have, then emits `gap` saying how
   * many came and whether that was all. Live notifications may come meanwhile.
   */
  private async fillGap(gap: ServerFrameData['resume_gap']): Promise<void> {
    const limit = this.options.maxGapFill ?? 5000;
    let filled = 0;
    let complete = false;
    if (this.rest && limit > 0) {
      try {
        for (let after = gap.since; filled < limit;) {
          const page = await this.rest.list<M>({ after, limit: Math.min(200, limit - filled) });
          for (const row of page.results) this.deliver(frameOf(row));
          filled += page.results.length;
          after = page.results.at(-1)?.id ?? after;
          if (!page.has_more) {
            complete = true;
            break;
          }
        }
      } catch (error) {
        this.emitError('gap_fill_failed', `Fetching the missed notifications failed: ${(error as Error).message}`);
      }
    }
    this.events.emit('gap', { ...gap, filled, complete });
  }

  private deliver(frame: NotificationFrame<M>): void {
    if (typeof frame.id !== 'number') return this.events.emit('notification', frame);
    if (this.seen.has(frame.id)) return;
    this.seen.add(frame.id);
    if (this.seen.size > (this.options.dedupeWindow ?? 10_000)) this.seen.delete(this.seen.values().next().value!);
    // The highest, not the latest: live notifications of two workers may arrive out of id order.
    if (this.highestId === undefined || frame.id > this.highestId) this.highestId = frame.id;
    this.events.emit('notification', frame);
  }

  /** Each broadcast once (the server sends each once per socket; a reconnection may overlap). */
  private deliverBroadcast(frame: BroadcastFrame): void {
    if (typeof frame.id !== 'number' || this.seenBroadcasts.has(frame.id)) return;
    this.seenBroadcasts.add(frame.id);
    if (this.seenBroadcasts.size > MAX_REMEMBERED_BROADCASTS)
      this.seenBroadcasts.delete(this.seenBroadcasts.values().next().value!);
    if (this.highestBroadcastId === undefined || frame.id > this.highestBroadcastId) this.highestBroadcastId = frame.id;
    this.events.emit('broadcast', frame);
  }

  // ---- requests ---------------------------------------------------------------------------

  private request(event: string, data: unknown, timeoutMs = this.options.requestTimeoutMs ?? 10_000) {
    const socket = this.socket;
    if (!socket || !this.socketConnected || socket.readyState !== OPEN) {
      return Promise.reject(new ConnectionLost('Not connected'));
    }
    const { ref, answer } = this.requests.open(event, timeoutMs);
    try {
      socket.send(JSON.stringify({ event, data, ref }));
    } catch (error) {
      this.requests.cancel(ref, error as Error);
    }
    return answer;
  }

  /** Over the socket when connected; over REST while (re)connecting, or when the socket drops meanwhile. */
  private async read(data: unknown, overRest: (rest: InboxRest) => Promise<ReadReceipt>): Promise<ReadReceipt> {
    const rest = async () => {
      const receipt = await overRest(this.rest!);
      // A connected stream carries the receipt itself; a socket that would have is down.
      if (!(this.usingSse && this.socketConnected)) this.events.emit('read', receipt);
      return receipt;
    };
    if (this.socketConnected && !this.usingSse) {
      try {
        return (await this.request('read', data)).data as ReadReceipt;
      } catch (error) {
        if (error instanceof ConnectionLost && this.rest && !TERMINAL.has(this.currentState)) return rest();
        throw error;
      }
    }
    if (this.rest && !TERMINAL.has(this.currentState)) return rest();
    throw new Error('Not connected');
  }

  private whenConnected(): Promise<void> {
    if (TERMINAL.has(this.currentState)) return Promise.reject(new Error('Not connected'));
    const timeoutMs = this.options.requestTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`Not connected within ${timeoutMs} ms`)), timeoutMs);
      const offConnected = this.events.on('connected', () => done());
      const offState = this.events.on('state', ({ current }) => {
        if (TERMINAL.has(current)) done(new Error('Not connected'));
      });
      const done = (error?: Error) => {
        clearTimeout(timer);
        offConnected();
        offState();
        if (error) reject(error);
        else resolve();
      };
    });
  }

  // ---- heartbeat and token refresh --------------------------------------------------------

  private schedulePing(): void {
    const interval = this.options.pingIntervalMs ?? 25_000;
    // A stream is watched by the gateway's keep-alive comments and the EventSource itself.
    if (interval > 0 && !this.usingSse) this.setTimer('ping', interval, () => this.heartbeat());
  }

  /** A ping whose pong does not come marks the socket dead (a half-open one after sleep or a network change). */
  private heartbeat(): void {
    const socket = this.socket;
    if (!socket || !this.socketConnected) return;
    this.clearTimer('ping');
    this.request('ping', null).then(
      () => this.socket === socket && this.schedulePing(),
      (error: unknown) => {
        if (!(error instanceof ConnectionLost)) this.abandon(socket, 'no pong: the connection is dead');
      },
    );
  }

  /** With a token function: a new token a little before this one expires, sent in a `refresh` frame. */
  private scheduleRefresh(): void {
    // A stream cannot take a new token: it ends at expiry (4001) and the client reconnects with a fresh one.
    if (typeof this.options.token !== 'function' || this.token === undefined || this.usingSse) return;
    const { expiresAt, issuedAt } = tokenTimes(this.token);
    if (expiresAt === undefined) return;
    const lifetime = expiresAt - (issuedAt ?? this.tokenObtainedAt);
    const lead = this.options.refreshLeadMs ?? Math.min(30_000, lifetime / 10);
    this.setTimer('refresh', Math.max(0, expiresAt - lead - Date.now()), () => void this.refreshToken(expiresAt, 0));
  }

  /** Retries with backoff until the old token expires; then the server closes with 4001 and the client reconnects. */
  private async refreshToken(expiresAt: number, attempt: number): Promise<void> {
    const socket = this.socket;
    const source = this.options.token as () => string | Promise<string>;
    try {
      const token = await this.askTokenFunction(source);
      const answer = await this.request('refresh', { token });
      this.token = token;
      this.tokenObtainedAt = Date.now();
      this.events.emit('refreshed', answer.data as ServerFrameData['refreshed']);
      this.scheduleRefresh();
    } catch (error) {
      if (this.socket !== socket || error instanceof ConnectionLost) return;
      const message = `Refreshing the token failed: ${(error as Error).message}`;
      const hopeless = error instanceof RequestError && ['unknown_event', 'user_mismatch'].includes(error.code);
      const delay = backoffDelay(attempt, this.options.reconnect || {}, this.options.random);
      if (hopeless || Date.now() + delay >= expiresAt) return this.emitError('refresh_failed', message);
      this.setTimer('refresh', delay, () => void this.refreshToken(expiresAt, attempt + 1));
    }
  }

  // ---- the network and the page -----------------------------------------------------------

  private pageReactions() {
    const tryNow = () => {
      if (!this.socket && (this.currentState === 'reconnecting' || this.currentState === 'connecting'))
        this.startSocket();
    };
    return {
      online: tryNow,
      offline: () => this.heartbeat(),
      visible: () => (this.socketConnected ? this.heartbeat() : tryNow()),
      pagehide: () => {
        if (TERMINAL.has(this.currentState)) return;
        void this.stop('closed', CloseCode.Normal, 'page hidden');
        this.suspendedByPage = true;
      },
      pageshow: () => {
        if (this.suspendedByPage) void this.connect();
      },
    };
  }

  // ---- plumbing ---------------------------------------------------------------------------

  private setState(current: ConnectionState, reason: string): void {
    const previous = this.currentState;
    if (previous === current) return;
    this.currentState = current;
    this.log(`${previous} -> ${current} (${reason})`);
    this.events.emit('state', { previous, current, reason });
  }

  private emitError(code: string, message: string): void {
    this.log(`error ${code}: ${message}`);
    this.events.emit('error', { code, message });
  }

  private listenerFailed(event: string, error: unknown): void {
    const message = `A ${event} listener threw: ${(error as Error)?.message ?? String(error)}`;
    if (event === 'error') console.error(message, error);
    else this.events.emit('error', { code: 'listener_error', message, cause: error });
  }

  private log(message: string): void {
    const { debug } = this.options;
    if (typeof debug === 'function') debug(message);
    else if (debug) console.debug(`[notify] ${message}`);
  }

  private setTimer(name: TimerName, delayMs: number, run: () => void): void {
    this.clearTimer(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        run();
      }, delayMs),
    );
  }

  private clearTimer(name: TimerName): void {
    clearTimeout(this.timers.get(name));
    this.timers.delete(name);
  }
}

function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  try {
    socket.close(code, reason.slice(0, 120));
  } catch {
    // already closed, or an implementation that refuses the code: nothing more to do
  }
}

/** Closes a socket and resolves on its close event, or after a second at most. */
function closeAndWait(socket: WebSocketLike, reason: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    socket.onclose = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.onmessage = null;
    if (socket.readyState > OPEN) {
      clearTimeout(timer);
      return resolve();
    }
    closeQuietly(socket, CloseCode.Normal, reason);
  });
}
