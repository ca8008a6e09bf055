export type { NotificationFrame, NotificationHead, StoredNotification } from './notification-frame';
export { notificationFrameOf, readNotificationHead } from './notification-frame';
export { MAX_MESSAGE_DEPTH, jsonNestingDepth } from './json-nesting';
export type { BroadcastFrame, StoredBroadcast } from './broadcast-frame';
export { broadcastFrameOf, readBroadcastId } from './broadcast-frame';
export { notificationGroup } from './notification-group';
export type { ClientEvent, FrameRef, ReadReceipt, ServerFrames } from './socket-protocol';
export {
  CLIENT_EVENTS,
  MAX_CLOSE_REASON_BYTES,
  MAX_READ_IDS,
  SocketCloseCode,
  SocketErrorCode,
  errorFrame,
  isFrameRef,
  serverFrame,
  withRef,
} from './socket-protocol';
export type { GatewayCommand } from './gateway-command';
export { gatewayCommandFrame, parseGatewayCommand } from './gateway-command';
export { TaskStatus } from './task-status';
export type { UserId } from './user-id';
export { USER_ID_RULE, normalizeUserId } from './user-id';
export type { UserIdList } from './user-id-list';
export { normalizeUserIdList } from './user-id-list';
