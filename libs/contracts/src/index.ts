export type { NotificationFrame, StoredNotification } from './notification-frame';
export { notificationFrameOf, serializeNotificationFrame } from './notification-frame';
export { notificationGroup } from './notification-group';
export type { ClientEvent, ReadReceipt, ServerFrames } from './socket-protocol';
export { CLIENT_EVENTS, SocketCloseCode, SocketErrorCode, serverFrame } from './socket-protocol';
export { TaskStatus } from './task-status';
export type { UserId } from './user-id';
export { USER_ID_RULE, normalizeUserId } from './user-id';
