/**
 * The frame a client receives for one notification. `message` is the published payload exactly as
 * published, at the top level, because frontends written for the Django Channels version read
 * `message`; `type` is kept for the same reason, `event` matches every other server frame.
 */
export interface NotificationFrame {
  event: 'notification';
  type: 'notification';
  id: string;
  task_id: string;
  created_at: string;
  message: unknown;
}

export function serializeNotificationFrame(frame: Omit<NotificationFrame, 'event' | 'type'>): string {
  const full: NotificationFrame = { event: 'notification', type: 'notification', ...frame };
  return JSON.stringify(full);
}
