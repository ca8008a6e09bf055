import { CloseCode } from './protocol';
import type { EventSourceConstructor, EventSourceLike, WebSocketLike } from './types';

/** The events the gateway's stream sends; each carries the frame a socket would receive. */
const STREAM_EVENTS = ['connected', 'notification', 'read', 'resumed', 'resume_gap', 'broadcast', 'error'] as const;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** The stream's last event: where a socket would get a close code, it says which (docs/websocket-protocol.md). */
interface StreamEndFrame {
  event: 'error';
  data: { code: string; message: string; close_code?: number };
}

/**
 * A Server-Sent Events stream (`GET /api/notifications/stream`) dressed as a receive-only
 * WebSocket, so the client's one state machine (reconnects, catch-up, de-duplication, token expiry,
 * 4003) drives either transport: every stream event is handed on as the socket frame it carries;
 * the stream's last `error` event becomes a close with the socket's close code; a failed or dropped
 * stream is a close with 1006.
 *
 * The client reconnects by itself (with `since` and a fresh token) rather than letting the
 * EventSource do it: an EventSource would reconnect with the URL's token, expired or not, and
 * without the client's backoff. `send` is never called: over SSE, requests go over REST.
 */
export class SseSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  private readonly source: EventSourceLike;

  constructor(EventSourceImpl: EventSourceConstructor, url: string) {
    this.source = new EventSourceImpl(url);
    this.source.onopen = () => {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.onopen?.({});
    };
    for (const event of STREAM_EVENTS)
      this.source.addEventListener(event, (message) => this.receive(event, message as { data?: unknown }));
  }

  send(): void {
    throw new Error('A Server-Sent Events stream only receives; requests go over REST');
  }

  close(code: number = CloseCode.Normal, reason = ''): void {
    this.end(code, reason);
  }

  private receive(event: string, message: { data?: unknown }): void {
    if (this.readyState === CLOSED) return;
    // The EventSource's own `error` (the stream failed or dropped) carries no data; the server's does.
    if (typeof message.data !== 'string') return this.end(CloseCode.Abnormal, 'the stream failed or dropped');
    if (event === 'error') {
      const end = parseEnd(message.data);
      if (end?.data.close_code !== undefined) return this.end(end.data.close_code, end.data.message);
    }
    this.onmessage?.({ data: message.data });
  }

  /** Closes the EventSource for good (no reconnection of its own) and reports the close once. */
  private end(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.source.close();
    // As a WebSocket does: the close event comes after the call that closed it.
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
}

function parseEnd(data: string): StreamEndFrame | null {
  try {
    return JSON.parse(data) as StreamEndFrame;
  } catch {
    return null;
  }
}
