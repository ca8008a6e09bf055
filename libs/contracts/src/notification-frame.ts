/**
 * The frame a client receives for one notification. `message` is the published payload exactly as
 * published, at the top level, because frontends written for the Django Channels version read
 * `message`; `type` is kept for the same reason, `event` matches every other server frame.
 */
export interface NotificationFrame {
  event: 'notification';
  type: 'notification';
  /** The inbox id: grows with every notification, so a client resumes with the last one it saw. */
  id: number;
  /**
   * The notification's place in its user's sequence: 1, 2, 3, ... with no gap. Whoever holds seq N
   * and is shown N + 2 knows that N + 1 exists (it is committed: seqs are drawn in commit order).
   */
  seq: number;
  task_id: string;
  created_at: string;
  message: unknown;
}

/** A notification as the inbox stores it; both the worker (live) and the gateway (catch-up) frame it. */
export interface StoredNotification {
  id: string | number;
  seq: string | number;
  taskId: string;
  /** A Date, or the text `Date#toISOString` would give for it (as the inbox queries read it). */
  createdAt: Date | string;
  /** The payload as JSON text, exactly as stored: framed without being parsed again. */
  messageJson: string;
}

/**
 * The frame's text. The head, up to `created_at`, has a fixed shape that `readNotificationHead`
 * reads without parsing the frame: a gateway forwards frames without ever parsing them.
 */
export function notificationFrameOf(notification: StoredNotification): string {
  const createdAt =
    typeof notification.createdAt === 'string' ? notification.createdAt : notification.createdAt.toISOString();
  return `{"event":"notification","type":"notification","id":${Number(notification.id)},"seq":${Number(notification.seq)},"task_id":${JSON.stringify(
    notification.taskId,
  )},"created_at":"${createdAt}","message":${notification.messageJson}}`;
}

/** What a gateway needs to know of a notification frame to forward it in order. */
export interface NotificationHead {
  id: number;
  seq: number;
  /** When the notification was stored (ms since the epoch). */
  createdAt: number;
}

const HEAD =
  /^\{"event":"notification","type":"notification","id":(\d{1,16}),"seq":(\d{1,16}),"task_id":"(?:[^"\\]|\\.)*","created_at":"([^"]{1,40})"/;
/** Enough for the head whatever the task id (at most 255 characters, each at most 6 escaped). */
const HEAD_BYTES = 1700;

/** Reads the head of a frame `notificationFrameOf` wrote; null for any other frame. */
export function readNotificationHead(frame: Buffer | string): NotificationHead | null {
  const head = typeof frame === 'string' ? frame.slice(0, HEAD_BYTES) : frame.subarray(0, HEAD_BYTES).toString('utf8');
  const match = HEAD.exec(head);
  if (!match) return null;
  const id = Number(match[1]);
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(seq)) return null;
  return { id, seq, createdAt: Date.parse(match[3]) };
}
