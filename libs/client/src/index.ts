export { backoffDelay } from './backoff';
export { NotificationClient } from './notification-client';
export { tokenExpired, tokenTimes } from './token';
export { CloseCode, MAX_READ_IDS } from './protocol';
export { RequestError } from './pending-requests';
export { HttpError, InboxRest } from './inbox-rest';
export { Inbox } from './inbox';
export type { InboxNotification, InboxPage, ListQuery } from './inbox-rest';
export type { BroadcastFrame, NotificationFrame, ReadReceipt, ServerFrameData } from './protocol';
export type {
  ClientEnvironment,
  ClientError,
  ConnectedEvent,
  ConnectionState,
  DisconnectedEvent,
  EventSourceConstructor,
  EventSourceLike,
  EventTargetLike,
  FetchLike,
  NotificationClientEvents,
  NotificationClientOptions,
  ReconnectOptions,
  StateChange,
  TokenSource,
  Transport,
  WebSocketConstructor,
  WebSocketLike,
} from './types';
