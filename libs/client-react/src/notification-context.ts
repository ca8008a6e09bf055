import { Inbox, NotificationClient } from '@notify/client';
import type { NotificationClientOptions } from '@notify/client';
import { createContext, createElement, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';

export interface NotificationContextValue {
  client: NotificationClient;
  /** Null when the client has no REST API (no `fetch`, or `apiUrl: false`). */
  inbox: Inbox | null;
}

const NotificationContext = createContext<NotificationContextValue | null>(null);

export type NotificationProviderProps = {
  children?: ReactNode;
  /** Connect while mounted (default true); close on unmount. */
  connect?: boolean;
} & ({ client: NotificationClient; options?: never } | { options: NotificationClientOptions; client?: never });

/**
 * Shares one client (and its inbox) with every hook below it: pass a client, or the options to
 * make one (made once, on the first render). Connects on mount and closes on unmount; the client
 * connects again after close(), so StrictMode's mount, unmount, mount ends connected.
 */
export function NotificationProvider(props: NotificationProviderProps) {
  const [made] = useState(() => (props.client ? null : new NotificationClient(props.options)));
  const client = props.client ?? made!;
  const [value, setValue] = useState<NotificationContextValue>(() => contextFor(client));
  if (value.client !== client) setValue(contextFor(client));
  const connect = props.connect ?? true;
  useEffect(() => {
    if (!connect) return;
    void client.connect(); // its failures show in useConnectionState and the client's error events
    return () => void client.close();
  }, [client, connect]);
  return createElement(NotificationContext.Provider, { value }, props.children);
}

function contextFor(client: NotificationClient): NotificationContextValue {
  return { client, inbox: client.rest ? new Inbox(client) : null };
}

/** The provider's client and inbox; throws outside a NotificationProvider. */
export function useNotificationContext(): NotificationContextValue {
  const value = useContext(NotificationContext);
  if (!value) throw new Error('Notification hooks need a <NotificationProvider> above them');
  return value;
}
