/** @jest-environment jsdom */
import { NotificationClient } from '@notify/client';
import type { FetchLike, NotificationClientOptions } from '@notify/client';
import { act, render, screen, waitFor } from '@testing-library/react';
import { FakeSocket } from '@test/support/fake-websocket';
import { StrictMode, createElement } from 'react';
import type { ReactNode } from 'react';
import { useConnectionState, useNotifications, useUnreadCount } from './hooks';
import { NotificationProvider } from './notification-context';

/** The hooks in React (jsdom, React Testing Library) over a client on a fake WebSocket and REST API. */
describe('React bindings', () => {
  let unread: number;
  const rows = [2, 1].map((id) => ({
    id,
    seq: id,
    task_id: `t${id}`,
    message: `m${id}`,
    created_at: '2026-01-01T00:00:00.000Z',
    read_at: null,
  }));
  const fetch: FetchLike = async (url) => ({
    ok: true,
    status: 200,
    json: async () => (url.includes('unread_count') ? { unread_count: unread } : { results: rows, has_more: false }),
  });
  const makeClient = (options: Partial<NotificationClientOptions> = {}) =>
    new NotificationClient({
      url: 'ws://gateway.test/ws/notifications/',
      token: 'token',
      WebSocket: FakeSocket,
      fetch,
      environment: {},
      pingIntervalMs: 0,
      ...options,
    });
  const open = () => FakeSocket.instances.filter((socket) => socket.readyState !== 3);
  const withProvider = (client: NotificationClient, child: ReactNode) =>
    createElement(StrictMode, null, createElement(NotificationProvider, { client }, child));

  /** jsdom's textContent (the type checker has no DOM lib here). */
  const text = (element: unknown) => (element as { textContent: string }).textContent;

  beforeEach(() => {
    FakeSocket.instances = [];
    unread = 3;
  });

  function Status() {
    return createElement('p', { 'data-testid': 'state' }, useConnectionState());
  }
  function Badge() {
    return createElement('p', { 'data-testid': 'badge' }, String(useUnreadCount() ?? '…'));
  }
  function List() {
    const { notifications, loading } = useNotifications<string>({ limit: 10 });
    if (loading) return createElement('p', null, 'loading');
    return createElement(
      'ul',
      null,
      notifications.map((row) => createElement('li', { key: row.id }, `${row.message}${row.read_at ? ' (read)' : ''}`)),
    );
  }

  it('ends connected with one socket under StrictMode (mount, unmount, mount), and closes on unmount', async () => {
    const client = makeClient();
    const view = render(withProvider(client, createElement(Status)));
    await waitFor(() => expect(FakeSocket.instances.length).toBeGreaterThanOrEqual(1));
    await waitFor(() => expect(open()).toHaveLength(1));
    act(() => open()[0].accept());
    expect(text(screen.getByTestId('state'))).toBe('connected');
    view.unmount();
    await waitFor(() => expect(client.state).toBe('closed'));
    expect(open()).toHaveLength(0);
  });

  it('keeps the unread count live from notifications and read receipts', async () => {
    const client = makeClient();
    render(withProvider(client, createElement(Badge)));
    await waitFor(() => expect(text(screen.getByTestId('badge'))).toBe('3'));
    await waitFor(() => expect(open()).toHaveLength(1));
    act(() => open()[0].accept());
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10)); // the count asked again after connected
      open()[0].notification(3);
    });
    expect(text(screen.getByTestId('badge'))).toBe('4');
    act(() => open()[0].frame({ event: 'read', data: { ids: [1, 2, 3], all: false, unread_count: 1 } }));
    expect(text(screen.getByTestId('badge'))).toBe('1');
  });

  it('lists the inbox, puts live notifications on top once, and marks read from receipts', async () => {
    const client = makeClient();
    render(withProvider(client, createElement(List)));
    await waitFor(() => expect(screen.getAllByRole('listitem').map(text)).toEqual(['m2', 'm1']));
    await waitFor(() => expect(open()).toHaveLength(1));
    act(() => {
      open()[0].accept();
      open()[0].notification(3);
      open()[0].notification(3);
      open()[0].frame({ event: 'read', data: { ids: [2], all: false, unread_count: 2 } });
    });
    expect(screen.getAllByRole('listitem').map(text)).toEqual([3, 'm2 (read)', 'm1'].map(String));
  });

  it('says a hook needs a provider', () => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => render(createElement(Status))).toThrow('Notification hooks need a <NotificationProvider> above them');
  });
});
