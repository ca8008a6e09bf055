import type { BroadcastFrame, NotificationFrame, ReadReceipt, ServerFrameData } from './protocol';

export type { BroadcastFrame, NotificationFrame, ReadReceipt };

/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket` and the `ws` package's
 * both fit. Declared here so the SDK needs neither the DOM types nor `ws`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The part of the EventSource API the client uses: the browser's and the `eventsource` package's both fit. */
export interface EventSourceLike {
  onopen: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: unknown) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

/**
 * - `websocket`: only the WebSocket;
 * - `sse`: only Server-Sent Events (`GET /api/notifications/stream`): receive-only, reads over REST;
 * - `auto`: the WebSocket, and Server-Sent Events from the first WebSocket that cannot be opened
 *   (a proxy that breaks WebSockets) until `close()`.
 */
export type Transport = 'websocket' | 'sse' | 'auto';

/**
 * A token, or a function returning a fresh one. The function is asked when the client has no
 * usable token: at the first connection, after 4001, before its token expires (to refresh it in
 * place), and after repeated handshake failures.
 */
export type TokenSource = string | (() => string | Promise<string>);

/** `addEventListener`/`removeEventListener`, as `window` and `document` have them. */
export interface EventTargetLike {
  addEventListener(type: string, listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: unknown) => void): void;
}

/**
 * Where the client hears about the network and the page. Defaults to the browser's globals when
 * they exist; pass `{}` to switch it off, or fakes in tests.
 */
export interface ClientEnvironment {
  /** `online`, `offline`, `pagehide`, `pageshow`. */
  window?: EventTargetLike;
  /** `visibilitychange` (with `visibilityState`). */
  document?: EventTargetLike & { visibilityState?: string };
  /** `onLine`: while false, the client waits for `online` instead of trying. */
  navigator?: { onLine?: boolean };
}

export interface ReconnectOptions {
  /** The first delay; doubles (`factor`) with every failed attempt, up to `maxDelayMs`. Default 500. */
  initialDelayMs?: number;
  /** Default 30 000. */
  maxDelayMs?: number;
  /** Default 2. */
  factor?: number;
  /** Attempts in a row without reaching `connected` before giving up (state `failed`). Default: no limit. */
  maxAttempts?: number;
}

export interface NotificationClientOptions {
  /** `ws(s)://host:port/ws/notifications/`; in a browser also a path (`/ws/notifications/`) on the page's host. */
  url: string;
  token: TokenSource;
  /** The constructor to use; defaults to `globalThis.WebSocket` (browsers, Node 22+). Pass `ws` on Node 20. */
  WebSocket?: WebSocketConstructor;
  /** `websocket`, `sse` or `auto` (the default): see `Transport`. */
  transport?: Transport;
  /** For `sse` and `auto`: defaults to `globalThis.EventSource` (browsers). On Node pass the `eventsource` package's. */
  EventSource?: EventSourceConstructor;
  /** The stream's URL; default: `/api/notifications/stream` on the REST API's base. */
  streamUrl?: string;
  /**
   * The last notification id the app has already shown, e.g. kept in localStorage: the first
   * connection asks for what came after it (`?since=`). Leave out to start with live ones only;
   * use 0 for everything still in the inbox. Must be a whole number from 0 (checked).
   */
  since?: number;
  /**
   * The same for broadcasts: the last broadcast id the app has shown (`lastBroadcastId`, kept). The
   * first connection asks for those after it that are still kept (`?broadcast_since=`). Leave out
   * to get only broadcasts made from the first connection on. Must be a whole number from 0.
   */
  broadcastSince?: number;
  /** `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** How long `markRead`/`markAllRead`/`ping`/`refresh` wait for their answer. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** How long the token function may take. Default 10 000 ms. */
  tokenTimeoutMs?: number;
  /** How long from opening a socket to its `connected` frame. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** How often a connected client pings to find a dead socket; 0 for never. Default 25 000 ms. */
  pingIntervalMs?: number;
  /**
   * Handshake failures in a row (which browsers cannot tell from a refused token) before the
   * client stops in state `unauthorized`; at half of them a token function is asked again. Default 8.
   */
  maxHandshakeFailures?: number;
  /** How long before the token's expiry a token function is asked for a new one. Default min(30 s, a tenth of its lifetime). */
  refreshLeadMs?: number;
  /** After a `resume_gap`, how many missed notifications to fetch over REST and deliver; 0 for none. Default 5000. */
  maxGapFill?: number;
  /** The REST API's base (`http(s)://host:port`); default: the WebSocket URL's origin. `false`: no REST. */
  apiUrl?: string | false;
  /** `fetch` for the REST API; defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** For tests: a source of randomness for the jitter, in [0, 1). */
  random?: () => number;
  /** How many notification ids to remember for de-duplication: at least the server's `RESUME_WINDOW` (1000). Default 10 000. */
  dedupeWindow?: number;
  /** Where the client hears about the network and the page; defaults to the browser's globals. */
  environment?: ClientEnvironment;
  /** `true` logs every state change with `console.debug`; or a function to log with. */
  debug?: boolean | ((message: string, detail?: unknown) => void);
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/**
 * - `idle`: made, `connect()` not called yet;
 * - `connecting`: the first connection is being opened;
 * - `connected`: the server's `connected` frame came; the socket receives;
 * - `reconnecting`: dropped; a reconnection is scheduled or under way;
 * - `closed`: `close()`, the server's 4003, or the page went away; `connect()` starts again;
 * - `unauthorized`: the token was refused for good (expired static token, repeated handshake failures);
 * - `failed`: the client cannot go on (a bad URL, a protocol error, `maxAttempts` reached).
 */
export type ConnectionState =
  'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'unauthorized' | 'failed';

export interface StateChange {
  previous: ConnectionState;
  current: ConnectionState;
  /** Why, in words (`connect()`, `close code 1006`, `handshake failed 8 times`, ...). */
  reason: string;
}

export interface ConnectedEvent extends Readonly<ServerFrameData['connected']> {
  /** False on the first connection, true when this is a reconnection. */
  reconnected: boolean;
  /** Which transport this connection uses. */
  transport: 'websocket' | 'sse';
}

export interface DisconnectedEvent {
  /** The WebSocket close code: 1006 when the connection failed or dropped; 4001 the token expired. */
  code: number;
  reason: string;
  /** Whether a reconnection is scheduled, and in how many milliseconds. */
  willReconnect: boolean;
  delayMs?: number;
}

/** An error frame from the server (`code` as in the protocol), or one of the client's own codes. */
export interface ClientError {
  code: string;
  message: string;
  /** For `unavailable`: true when it is about a catch-up (which the client retries), not a request. */
  catchUp?: boolean;
  /** For `listener_error`: what the listener threw. */
  cause?: unknown;
}

/** The events of a client whose notifications' `message` has type `M`. */
export interface NotificationClientEvents<M = unknown> {
  notification: NotificationFrame<M>;
  /** Notifications were marked read, by this client, another tab or device, or over REST. */
  read: ReadReceipt;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  state: StateChange;
  error: ClientError;
  /** A catch-up after `since` finished: `count` stored notifications came first. */
  resumed: ServerFrameData['resumed'];
  /**
   * More than the server's resume window was missed. The client fetched them over REST and
   * delivered them as `notification` events first: `filled` of them, `complete` when that was
   * all (false without REST, past `maxGapFill`, or when the fetch failed: fetch the rest from `fetch`).
   */
  gap: ServerFrameData['resume_gap'] & { filled: number; complete: boolean };
  /**
   * An announcement to every connected user; each once, those missed while away first (within the
   * server's BROADCAST_RETENTION_SECONDS).
   */
  broadcast: BroadcastFrame;
  /** The token was refreshed in place: the socket now lives until `expires_at`. */
  refreshed: ServerFrameData['refreshed'];
}
