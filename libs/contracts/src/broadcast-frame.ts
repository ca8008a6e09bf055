/**
 * The frame every connected client receives for an announcement (`POST /api/broadcast`, or
 * `{"broadcast": true, "message": ...}` on the task queue). Shaped as a notification frame is:
 * `message` at the top level exactly as published, `event` naming the frame. `id` grows with every
 * broadcast and is shared by all users: a client resumes with the highest one it saw
 * (`broadcast_since`). Broadcasts carry no `seq` and no `task_id`: they are in no user's inbox.
 */
export interface BroadcastFrame {
  event: 'broadcast';
  id: number;
  created_at: string;
  message: unknown;
}

/** A broadcast as its table stores it; the gateway (REST, catch-up) and the worker (AMQP) frame it. */
export interface StoredBroadcast {
  id: string | number;
  /** A Date, or the text `Date#toISOString` would give for it. */
  createdAt: Date | string;
  /** The payload as JSON text, exactly as stored. */
  messageJson: string;
}

export function broadcastFrameOf(broadcast: StoredBroadcast): string {
  const createdAt = typeof broadcast.createdAt === 'string' ? broadcast.createdAt : broadcast.createdAt.toISOString();
  return `{"event":"broadcast","id":${Number(broadcast.id)},"created_at":"${createdAt}","message":${broadcast.messageJson}}`;
}

const HEAD = /^\{"event":"broadcast","id":(\d{1,16}),/;

/** The id of a frame `broadcastFrameOf` wrote, read without parsing the frame; null for anything else. */
export function readBroadcastId(frame: Buffer | string): number | null {
  const head = typeof frame === 'string' ? frame.slice(0, 48) : frame.subarray(0, 48).toString('utf8');
  const match = HEAD.exec(head);
  if (!match) return null;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : null;
}
