/**
 * The wire format the client speaks (docs/websocket-protocol.md), declared here rather than
 * imported so the published package depends on nothing; `protocol.spec.ts` checks it against the
 * gateway's own `@app/contracts`.
 */

export interface ReadReceipt {
  /** The notifications that became read, or `all: true` when the user marked everything read. */
  ids: number[];
  all: boolean;
  unread_count: number;
}

/** One notification; `M` is the type of the published `message` payload (any JSON value). */
export interface NotificationFrame<M = unknown> {
  event: 'notification';
  type: 'notification';
  /** The inbox id: grows with every notification. */
  id: number;
  /** Its place in the user's own sequence: 1, 2, 3, ... with no gap. */
  seq: number;
  task_id: string;
  created_at: string;
  message: M;
}

/**
 * An announcement to every connected user (`POST /api/broadcast`); `B` is the type of its `message`.
 * `id` grows with every broadcast, shared by all users: resume after the highest one seen.
 */
export interface BroadcastFrame<B = unknown> {
  event: 'broadcast';
  id: number;
  created_at: string;
  message: B;
}

export interface ServerFrameData {
  connected: { connection_id: string; user_id: string; group: string; last_id: number; last_broadcast_id: number };
  resumed: { since: number; count: number; last_id: number };
  resume_gap: { since: number; window: number; fetch: string };
  read: ReadReceipt;
  read_confirmed: ReadReceipt;
  refreshed: { expires_at: string };
  error: { code: string; message: string };
}

/** The gateway's close codes, and the protocol's own ones the client reacts to. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  UnsupportedData: 1003,
  /** What browsers report for a connection that failed or dropped, and for a refused handshake. */
  Abnormal: 1006,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
  TokenExpired: 4001,
  DisconnectedByServer: 4003,
  TooSlow: 4008,
} as const;

/** The most ids one `read` frame may mark. */
export const MAX_READ_IDS = 1000;

/** The gateway's default `RESUME_WINDOW`: a de-duplication window below it would let replays through. */
export const DEFAULT_RESUME_WINDOW = 1000;
