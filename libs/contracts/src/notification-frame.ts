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
  task_id: string;
  created_at: string;
  message: unknown;
}

export function serializeNotificationFrame(frame: Omit<NotificationFrame, 'event' | 'type'>): string {
  const full: NotificationFrame = { event: 'notification', type: 'notification', ...frame };
  return JSON.stringify(full);
}

/** A notification as the inbox stores it; both the worker (live) and the gateway (catch-up) frame it. */
export interface StoredNotification {
  id: string | number;
  taskId: string;
  createdAt: Date | string;
  message: unknown;
}

export function notificationFrameOf(notification: StoredNotification): string {
  return serializeNotificationFrame({
    id: Number(notification.id),
    task_id: notification.taskId,
    created_at: new Date(notification.createdAt).toISOString(),
    message: notification.message,
  });
}
