import { SocketCloseCode, readNotificationHead } from '@app/contracts';
import type { ServerResponse } from 'node:http';
import type { ConnectionTransport } from '../notifications/connection-transport';
import { GatewayMetrics, disconnectCause } from '../notifications/gateway-metrics';

/** Every server frame starts with its event name (`serverFrame`, `notificationFrameOf`). */
const EVENT_NAME = /^\{"event":"([a-z_]{1,40})"/;
const CONNECTED_LAST_ID = /"last_id":(\d{1,16})/;

/**
 * A Server-Sent Events response as a connection's transport. Each frame becomes one event named as
 * the frame's `event` (`notification`, `read`, `connected`, `resumed`, `resume_gap`, `error`, and
 * any added later) whose data is the frame exactly as a socket receives it. A notification carries
 * its inbox id as the event id, and `connected` its `last_id`, so that the `Last-Event-ID` an
 * `EventSource` sends when it reconnects is always where the client stands.
 *
 * Where a socket would be closed with a code, the stream gets a last `event: error` naming the
 * cause (`token_expired`, `disconnected`, `shutdown`, ...) with the socket's close code, then ends;
 * a client too slow to read is cut off without one (it would not read it).
 */
export class SseTransport implements ConnectionTransport {
  readonly kind = 'sse';

  constructor(
    private readonly response: ServerResponse,
    private readonly metrics: GatewayMetrics,
  ) {}

  get isOpen(): boolean {
    return !this.response.writableEnded && !this.response.destroyed;
  }

  /** What the response and its TCP socket hold that the client has not taken yet. */
  get bufferedBytes(): number {
    return this.response.writableLength;
  }

  send(frame: Buffer | string): void {
    const text = typeof frame === 'string' ? frame : frame.toString('utf8');
    const event = EVENT_NAME.exec(text)?.[1] ?? 'message';
    this.response.write(sseEvent(event, text, eventIdOf(event, text)));
    this.metrics.streamEvents.inc({ event });
  }

  /** A comment line: keeps proxies from closing an idle stream; clients ignore it. */
  keepAlive(): void {
    if (this.isOpen) this.response.write(':\n\n');
  }

  close(code: number, reason: string): void {
    if (!this.isOpen) return;
    if (code === (SocketCloseCode.TooSlow as number)) {
      this.response.destroy();
      return;
    }
    const data = { code: disconnectCause(code), message: reason, close_code: code };
    this.response.end(sseEvent('error', JSON.stringify({ event: 'error', data })));
    this.metrics.streamEvents.inc({ event: 'error' });
  }
}

/** One event. Data that spans lines (a payload published pretty-printed) gets a `data:` line each. */
export function sseEvent(event: string, data: string, id?: number): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${lines.join('')}\n`;
}

function eventIdOf(event: string, frame: string): number | undefined {
  if (event === 'notification') return readNotificationHead(frame)?.id;
  if (event === 'connected') {
    const lastId = CONNECTED_LAST_ID.exec(frame)?.[1];
    return lastId === undefined ? undefined : Number(lastId);
  }
  return undefined;
}
