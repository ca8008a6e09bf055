export { NotificationProvider, useNotificationContext } from './notification-context';
export type { NotificationContextValue, NotificationProviderProps } from './notification-context';
export { useConnectionState, useNotificationClient, useNotifications, useUnreadCount } from './hooks';
export type { NotificationsView } from './hooks';
