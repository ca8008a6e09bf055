import type { ConnectionState, InboxNotification, NotificationClient, ReadReceipt } from '@notify/client';
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { useNotificationContext } from './notification-context';

/** The provider's client, for what the hooks do not cover (`ping`, `on('error')`...). */
export function useNotificationClient<M = unknown>(): NotificationClient<M> {
  return useNotificationContext().client as NotificationClient<M>;
}

/** The client's state (`connecting`, `connected`, `reconnecting`...), re-rendering on each change. */
export function useConnectionState(): ConnectionState {
  const { client } = useNotificationContext();
  const subscribe = useCallback((changed: () => void) => client.on('state', changed), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.state,
    () => client.state,
  );
}

/** The unread count, live across tabs (undefined until the server first answered). */
export function useUnreadCount(): number | undefined {
  const { inbox } = useNotificationContext();
  if (!inbox) throw new Error('useUnreadCount needs a client with the REST API (fetch, apiUrl)');
  const subscribe = useCallback((changed: () => void) => inbox.onUnreadCount(changed), [inbox]);
  useEffect(() => {
    if (inbox.unreadCount === undefined) inbox.refreshUnreadCount().catch(() => undefined);
  }, [inbox]);
  return useSyncExternalStore(
    subscribe,
    () => inbox.unreadCount,
    () => inbox.unreadCount,
  );
}

export interface NotificationsView<M> {
  /** Newest first: the first page from the inbox, then each live one on top, each id once. */
  notifications: Array<InboxNotification<M>>;
  loading: boolean;
  error: Error | null;
  markRead(ids: number | number[]): Promise<ReadReceipt>;
  markAllRead(): Promise<ReadReceipt>;
}

/** The newest `limit` notifications, kept up to date with live ones and read receipts from anywhere. */
export function useNotifications<M = unknown>({ limit = 50 }: { limit?: number } = {}): NotificationsView<M> {
  const { client, inbox } = useNotificationContext();
  if (!inbox) throw new Error('useNotifications needs a client with the REST API (fetch, apiUrl)');
  const [notifications, setNotifications] = useState<Array<InboxNotification<M>>>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    let live = true;
    const offNotification = client.on('notification', (frame) => {
      const { id, seq, task_id, message, created_at } = frame;
      const row = { id, seq, task_id, message: message as M, created_at, read_at: null };
      setNotifications((rows) => (rows.some((each) => each.id === id) ? rows : [row, ...rows].slice(0, limit)));
    });
    const offRead = client.on('read', (receipt) => setNotifications((rows) => applyReceipt(rows, receipt)));
    inbox.list({ limit }).then(
      (page) => {
        if (!live) return;
        // Live ones that came while the page loaded stay on top.
        setNotifications((rows) => merge(rows, page.results as Array<InboxNotification<M>>, limit));
        setLoading(false);
      },
      (failure: Error) => {
        if (!live) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      live = false;
      offNotification();
      offRead();
    };
  }, [client, inbox, limit]);

  const markRead = useCallback((ids: number | number[]) => inbox.markRead(ids), [inbox]);
  const markAllRead = useCallback(() => inbox.markAllRead(), [inbox]);
  return { notifications, loading, error, markRead, markAllRead };
}

function merge<M>(
  live: Array<InboxNotification<M>>,
  page: Array<InboxNotification<M>>,
  limit: number,
): Array<InboxNotification<M>> {
  const ids = new Set(live.map((row) => row.id));
  return [...live, ...page.filter((row) => !ids.has(row.id))].sort((a, b) => b.id - a.id).slice(0, limit);
}

function applyReceipt<M>(rows: Array<InboxNotification<M>>, receipt: ReadReceipt): Array<InboxNotification<M>> {
  const now = new Date().toISOString();
  const read = new Set(receipt.ids);
  return rows.map((row) =>
    row.read_at === null && (receipt.all || read.has(row.id)) ? { ...row, read_at: now } : row,
  );
}
