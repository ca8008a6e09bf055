import { UserId } from './user-id';

/** The group every socket of one user joins, named as the Django Channels consumer named it. */
export function notificationGroup(userId: UserId): string {
  return `Notifications_${userId}`;
}
