export { backoffDelay } from './backoff';
export { NotificationClient, tokenExpired } from './notification-client';
export type {
  ClientError,
  ConnectedEvent,
  ConnectionState,
  DisconnectedEvent,
  NotificationClientEvents,
  NotificationClientOptions,
  NotificationFrame,
  ReadReceipt,
  ReconnectOptions,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types';
