import type { NotificationFrame, ReadReceipt } from './protocol';
import type { FetchLike } from './types';

/** A notification as the inbox REST API lists it. */
export interface InboxNotification<M = unknown> {
  id: number;
  seq: number;
  task_id: string;
  message: M;
  created_at: string;
  read_at: string | null;
}

export interface InboxPage<M = unknown> {
  results: Array<InboxNotification<M>>;
  has_more: boolean;
}

/** `GET /api/notifications`: newest first before `before`, or oldest first after `after`. */
export interface ListQuery {
  before?: number;
  after?: number;
  unread?: boolean;
  /** 1-200; default 50. */
  limit?: number;
}

/** An answer of the REST API other than 2xx. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpError';
  }
}

/** The user's inbox over the gateway's REST API (docs/websocket-protocol.md, "Inbox REST API"). */
export class InboxRest {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => Promise<string>,
    private readonly fetchImpl: FetchLike,
  ) {}

  list<M = unknown>(query: ListQuery = {}): Promise<InboxPage<M>> {
    const params = Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`);
    return this.call('GET', `/api/notifications${params.length ? `?${params.join('&')}` : ''}`) as Promise<
      InboxPage<M>
    >;
  }

  async unreadCount(): Promise<number> {
    const { unread_count: count } = (await this.call('GET', '/api/notifications/unread_count')) as {
      unread_count: number;
    };
    return count;
  }

  /** One POST per id (the API marks one at a time); the receipts merged. */
  async markRead(ids: number[]): Promise<ReadReceipt> {
    const merged: ReadReceipt = { ids: [], all: false, unread_count: 0 };
    for (const id of ids) {
      const receipt = (await this.call('POST', `/api/notifications/${id}/read`)) as ReadReceipt;
      merged.ids.push(...receipt.ids);
      merged.unread_count = receipt.unread_count;
    }
    return merged;
  }

  markAllRead(): Promise<ReadReceipt> {
    return this.call('POST', '/api/notifications/read_all') as Promise<ReadReceipt>;
  }

  private async call(method: string, path: string): Promise<unknown> {
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${await this.token()}`, Accept: 'application/json' },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, body);
    return body;
  }
}

/** An inbox row as the notification frame the socket would have sent. */
export function frameOf<M>(row: InboxNotification<M>): NotificationFrame<M> {
  const { id, seq, task_id: taskId, created_at: createdAt, message } = row;
  return { event: 'notification', type: 'notification', id, seq, task_id: taskId, created_at: createdAt, message };
}
