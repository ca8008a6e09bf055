/** Events a client may send: `{"event": <name>, "data": <payload>}`. */
export const CLIENT_EVENTS = ['ping', 'resume', 'read', 'ack', 'refresh'] as const;
export type ClientEvent = (typeof CLIENT_EVENTS)[number];

/** Codes carried by `{"event":"error","data":{"code":...}}` frames. */
export enum SocketErrorCode {
  InvalidJson = 'invalid_json',
  InvalidFrame = 'invalid_frame',
  UnknownEvent = 'unknown_event',
  BinaryNotSupported = 'binary_not_supported',
  InvalidData = 'invalid_data',
  Unavailable = 'unavailable',
  RateLimited = 'rate_limited',
  /** A `refresh` frame's token was refused; the socket keeps its old expiry. */
  InvalidToken = 'invalid_token',
  /** A `refresh` frame's token names another user than the socket's. */
  UserMismatch = 'user_mismatch',
}

/** The most ids one `read` (or `ack`) frame may mark. */
export const MAX_READ_IDS = 1000;

/** WebSocket close codes the gateway uses, besides the protocol's own 1009 (frame too large). */
export enum SocketCloseCode {
  /** A client's own close (`close()` in the SDK). */
  Normal = 1000,
  GoingAway = 1001,
  UnsupportedData = 1003,
  PolicyViolation = 1008,
  InternalError = 1011,
  /** A dependency (Redis, the inbox) could not be reached while the socket opened: reconnect later. */
  TryAgainLater = 1013,
  TokenExpired = 4001,
  /** The user was disconnected or logged out everywhere by the server (REST API): final, do not reconnect. */
  Disconnected = 4003,
  TooSlow = 4008,
}

/** A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455: 125 less the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

export interface ReadReceipt {
  /** The notifications that became read, or `all: true` when the user marked everything read. */
  ids: number[];
  all: boolean;
  unread_count: number;
}

export interface ServerFrames {
  /**
   * The socket receives. `last_id`: everything after it will be sent on this socket (the `since` it
   * connected with, or the user's newest id at connect); a client resumes from it until it has
   * received a notification, so nothing published while it was away before that is lost.
   * `last_broadcast_id` is the same for broadcasts: the `broadcast_since` it connected with, or the
   * newest broadcast's id at connect.
   */
  connected: { connection_id: string; user_id: string; group: string; last_id: number; last_broadcast_id: number };
  /** Catch-up after `since`/`resume` is complete: `count` stored notifications were sent, live ones follow. */
  resumed: { since: number; count: number; last_id: number };
  /** More than the resume window was missed: nothing stored was sent; fetch after `since` over REST. */
  resume_gap: { since: number; window: number; fetch: string };
  /** To every socket of the user, whichever one marked notifications read (another tab, a REST call). */
  read: ReadReceipt;
  /** To the socket that sent a `read`/`ack` frame. */
  read_confirmed: ReadReceipt;
  pong: unknown;
  /** A `refresh` frame's token was accepted: the socket now closes (4001) at its expiry. */
  refreshed: { expires_at: string };
  error: { code: SocketErrorCode; message: string };
}

export function serverFrame<E extends keyof ServerFrames>(event: E, data: ServerFrames[E]): string {
  return JSON.stringify({ event, data });
}

/**
 * A client's name for one of its request frames (`{"event","data","ref"}`): the server copies it
 * onto the frame that answers that request, so a client matches answers to requests whatever order
 * they come in. A string of 1-64 characters or a safe integer.
 */
export type FrameRef = string | number;

/** Whether a value can be a `ref` (see `FrameRef`). */
export function isFrameRef(value: unknown): value is FrameRef {
  return (typeof value === 'string' && value.length >= 1 && value.length <= 64) || Number.isSafeInteger(value);
}

/** The answer frame with the request's `ref` added (as its last field); the frame as it is without one. */
export function withRef(frame: string, ref: FrameRef | undefined): string {
  return ref === undefined ? frame : `${frame.slice(0, -1)},"ref":${JSON.stringify(ref)}}`;
}

/** The frame that answers a client frame the server could not take (the socket stays open). */
export function errorFrame(code: SocketErrorCode, message: string): string {
  return serverFrame('error', { code, message });
}
