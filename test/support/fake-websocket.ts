import { NotificationClient } from '@app/client';
import type { ClientEnvironment, EventTargetLike, NotificationClientOptions, WebSocketLike } from '@app/client';

/**
 * A WebSocket the test plays the server of, for what needs forced timing (fake timers): answers
 * out of order, a catch-up that fails, a socket that never answers.
 */
export class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  readonly sent: Array<{ event: string; data?: unknown; ref?: string }> = [];
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.instances.push(this);
  }

  static get last(): FakeSocket {
    return FakeSocket.instances[FakeSocket.instances.length - 1];
  }

  get since(): string | null {
    return new URL(this.url).searchParams.get('since');
  }

  get broadcastSince(): string | null {
    return new URL(this.url).searchParams.get('broadcast_since');
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    if (this.readyState === 3) return;
    this.closedWith = { code, reason };
    this.readyState = 3;
    this.onclose?.({ code: code ?? 1005, reason: reason ?? '' });
  }

  /** The server's side: the socket opens and sends `connected`. */
  accept(lastId = 0, lastBroadcastId = 0): void {
    this.readyState = 1;
    this.frame({
      event: 'connected',
      data: {
        connection_id: 'c',
        user_id: 'u',
        group: 'Notifications_u',
        last_id: lastId,
        last_broadcast_id: lastBroadcastId,
      },
    });
  }

  broadcast(id: number): void {
    this.frame({ event: 'broadcast', id, created_at: new Date(0).toISOString(), message: `b${id}` });
  }

  frame(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  notification(id: number): void {
    this.frame({
      event: 'notification',
      type: 'notification',
      id,
      seq: id,
      task_id: `t${id}`,
      created_at: '',
      message: id,
    });
  }

  /** The server (or the network) closes it. */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  sentOf(event: string) {
    return this.sent.filter((frame) => frame.event === event);
  }
}

/** `window`/`document` stand-ins that the test fires events on. */
export class FakePage implements EventTargetLike {
  private readonly listeners = new Map<string, Set<(event: unknown) => void>>();
  visibilityState = 'visible';
  onLine = true;
  addEventListener(type: string, listener: (event: unknown) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.get(type)?.delete(listener);
  }
  fire(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ type });
  }
  count(type: string): number {
    return this.listeners.get(type)?.size ?? 0;
  }
  get environment(): ClientEnvironment {
    return { window: this, document: this, navigator: this };
  }
}

/** A JWT-shaped token (unsigned: the client only reads it). */
export function fakeToken(payload: object): string {
  return `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
}

export function fakeClient(options: Partial<NotificationClientOptions> = {}) {
  const page = new FakePage();
  const client = new NotificationClient<number>({
    url: 'ws://gateway.test/ws/notifications/',
    token: 'static-token',
    WebSocket: FakeSocket,
    random: () => 0,
    pingIntervalMs: 0,
    apiUrl: false,
    environment: page.environment,
    ...options,
  });
  const errors: string[] = [];
  const states: string[] = [];
  client.on('error', (error) => errors.push(error.code));
  client.on('state', (change) => states.push(change.current));
  return { client, page, errors, states };
}

/** Lets the client's async steps (the token) and due timers run. */
export const tick = (ms = 0) => jest.advanceTimersByTimeAsync(ms);
