import type { InboxPage, ListQuery } from './inbox-rest';
import type { NotificationClient } from './notification-client';
import type { ReadReceipt } from './protocol';

type UnreadListener = (count: number) => void;

/**
 * The user's inbox for an app's UI, over a client: pages of notifications (REST), the unread count
 * kept live (so a badge never drifts across tabs), and reads. The count is the server's wherever
 * the server says it (a `read` frame or receipt from any tab, device or REST call; a fresh count
 * after every (re)connection and catch-up) and counts each new notification in between.
 */
export class Inbox<M = unknown> {
  private count: number | undefined;
  private readonly listeners = new Set<UnreadListener>();
  private readonly unsubscribe: Array<() => void>;
  /** Bumped by every authoritative count, so a slower REST answer never overwrites a newer one. */
  private version = 0;

  constructor(private readonly client: NotificationClient<M>) {
    if (!client.rest) throw new TypeError('The inbox needs the REST API: give the client fetch and leave apiUrl on');
    this.unsubscribe = [
      client.on('read', (receipt) => this.setCount(receipt.unread_count)),
      client.on('notification', () => this.count !== undefined && this.setCount(this.count + 1, false)),
      client.on('connected', () => void this.refreshUnreadCount()),
      client.on('resumed', () => void this.refreshUnreadCount()),
      client.on('gap', () => void this.refreshUnreadCount()),
    ];
  }

  /** The unread count as last known (undefined until the first answer). */
  get unreadCount(): number | undefined {
    return this.count;
  }

  /** Calls `listener` with the count whenever it changes; returns the unsubscribe. */
  onUnreadCount(listener: UnreadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Newest first before `before`, or oldest first after `after`; `unread` only; `limit` 1-200. */
  list(query: ListQuery = {}): Promise<InboxPage<M>> {
    checkQuery(query);
    return this.client.rest!.list<M>(query);
  }

  /** Asks the server for the count (also done after every connection and catch-up). */
  async refreshUnreadCount(): Promise<number> {
    const version = ++this.version;
    const count = await this.client.rest!.unreadCount();
    if (version === this.version) this.setCount(count);
    return this.count ?? count;
  }

  /** Over the socket, or REST while it is down; the count follows the receipt. */
  markRead(ids: number | number[]): Promise<ReadReceipt> {
    return this.client.markRead(ids).then((receipt) => this.receipt(receipt));
  }

  markAllRead(): Promise<ReadReceipt> {
    return this.client.markAllRead().then((receipt) => this.receipt(receipt));
  }

  /** Stops following the client. */
  dispose(): void {
    this.unsubscribe.forEach((off) => off());
    this.listeners.clear();
  }

  private receipt(receipt: ReadReceipt): ReadReceipt {
    this.setCount(receipt.unread_count);
    return receipt;
  }

  private setCount(count: number, authoritative = true): void {
    if (authoritative) this.version++;
    if (count === this.count) return;
    this.count = count;
    for (const listener of [...this.listeners]) listener(count);
  }
}

function checkQuery(query: ListQuery): void {
  for (const [name, min, max] of [
    ['before', 1, Number.MAX_SAFE_INTEGER],
    ['after', 0, Number.MAX_SAFE_INTEGER],
    ['limit', 1, 200],
  ] as const) {
    const value = query[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= min && value <= max)) {
      throw new TypeError(`${name} must be a whole number from ${min} to ${max}; got ${String(value)}`);
    }
  }
}
