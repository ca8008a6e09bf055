import type { NotificationFrame, ReadReceipt, ServerFrames } from '@app/contracts';

export type { NotificationFrame, ReadReceipt };

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

/** A token, or a function returning a fresh one: called before every connection attempt. */
export type TokenSource = string | (() => string | Promise<string>);

export interface ReconnectOptions {
  /** The first delay; doubles (`factor`) with every failed attempt, up to `maxDelayMs`. Default 500. */
  initialDelayMs?: number;
  /** Default 30 000. */
  maxDelayMs?: number;
  /** Default 2. */
  factor?: number;
  /** Attempts in a row without reaching `connected` before giving up. Default: no limit. */
  maxAttempts?: number;
}

export interface NotificationClientOptions {
  /** `ws(s)://host:port/ws/notifications/`. */
  url: string;
  token: TokenSource;
  /** The constructor to use; defaults to `globalThis.WebSocket` (browsers, Node 22+). Pass `ws` on Node 20. */
  WebSocket?: WebSocketConstructor;
  /**
   * The last notification id the app has already shown, e.g. kept in localStorage: the first
   * connection asks for what came after it (`?since=`). Leave out to start with live ones only;
   * use 0 for everything still in the inbox.
   */
  since?: number;
  /** `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** How long `markRead`/`markAllRead`/`ping` wait for their answer. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** For tests: a source of randomness for the jitter, in [0, 1). */
  random?: () => number;
  /** How many notification ids to remember for de-duplication. Default 10 000. */
  dedupeWindow?: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectedEvent extends Readonly<ServerFrames['connected']> {
  /** False on the first connection, true when this is a reconnection. */
  reconnected: boolean;
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
}

export interface NotificationClientEvents {
  notification: NotificationFrame;
  /** Notifications were marked read, by this client, another tab or device, or over REST. */
  read: ReadReceipt;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  error: ClientError;
  /** A catch-up after `since` finished: `count` stored notifications came first. */
  resumed: ServerFrames['resumed'];
  /** More than the server's resume window was missed: fetch them over REST from `fetch`. */
  gap: ServerFrames['resume_gap'];
}
