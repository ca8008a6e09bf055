import { Injectable } from '@nestjs/common';
import { SocketCloseCode } from '@app/contracts';
import { MetricsRegistry } from '@app/metrics';
import type { TransportKind } from './connection-transport';

/** What the gateway counts; every label comes from a small fixed set. */
@Injectable()
export class GatewayMetrics {
  readonly socketsOpen;
  readonly connects;
  readonly disconnects;
  readonly tokenRefreshes;
  readonly presenceLookups;
  readonly handshakeRefusals;
  readonly framesIn;
  readonly framesOut;
  readonly broadcastFramesOut;
  readonly dropped;
  readonly deliveryLatency;
  readonly streamsOpen;
  readonly streamsClosed;
  readonly streamEvents;
  readonly streamRefusals;

  constructor(metrics: MetricsRegistry) {
    this.socketsOpen = metrics.gauge({ name: 'notify_sockets_open', help: 'WebSockets open on this gateway' });
    this.connects = metrics.counter({ name: 'notify_socket_connects_total', help: 'WebSockets opened' });
    this.disconnects = metrics.counter({
      name: 'notify_socket_disconnects_total',
      help: 'WebSockets closed, by cause (client: the client closed it or the connection dropped)',
      labelNames: ['cause'] as const,
    });
    this.tokenRefreshes = metrics.counter({
      name: 'notify_token_refreshes_total',
      help: '`refresh` frames, by outcome',
      labelNames: ['outcome'] as const,
    });
    this.presenceLookups = metrics.counter({
      name: 'notify_presence_lookups_total',
      help: 'Presence questions answered, by kind (one user or a list)',
      labelNames: ['kind'] as const,
    });
    this.handshakeRefusals = metrics.counter({
      name: 'notify_handshake_refusals_total',
      help: 'Upgrades refused, by HTTP status',
      labelNames: ['status'] as const,
    });
    this.framesIn = metrics.counter({
      name: 'notify_frames_in_total',
      help: 'Client frames, by event (invalid: could not be routed)',
      labelNames: ['event'] as const,
    });
    this.framesOut = metrics.counter({
      name: 'notify_notifications_delivered_total',
      help: 'Notification and receipt frames sent to sockets',
    });
    this.broadcastFramesOut = metrics.counter({
      name: 'notify_broadcasts_delivered_total',
      help: 'Broadcast frames sent to sockets (live, and to clients catching up on those they missed)',
    });
    this.dropped = metrics.counter({
      name: 'notify_notifications_dropped_total',
      help: 'Frames not sent to a socket, by reason',
      labelNames: ['reason'] as const,
    });
    this.deliveryLatency = metrics.histogram({
      name: 'notify_delivery_latency_seconds',
      help: 'From the notification being stored to its frame reaching this gateway',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.streamsOpen = metrics.gauge({
      name: 'notify_sse_streams_open',
      help: 'Server-Sent Events streams open on this gateway',
    });
    this.streamsClosed = metrics.counter({
      name: 'notify_sse_streams_closed_total',
      help: 'Server-Sent Events streams ended, by cause (client: the client went away)',
      labelNames: ['cause'] as const,
    });
    this.streamEvents = metrics.counter({
      name: 'notify_sse_events_total',
      help: 'Events written to Server-Sent Events streams, by event',
      labelNames: ['event'] as const,
    });
    this.streamRefusals = metrics.counter({
      name: 'notify_sse_refusals_total',
      help: 'Server-Sent Events requests refused before the stream, by HTTP status',
      labelNames: ['status'] as const,
    });
  }

  /** A connection opened: sockets and streams are counted apart. */
  opened(kind: TransportKind): void {
    if (kind === 'sse') return this.streamsOpen.inc();
    this.connects.inc();
    this.socketsOpen.inc();
  }

  /** A connection closed; `closedWith` as `ClientConnection.closedWith`. */
  closed(kind: TransportKind, closedWith: number): string {
    const cause = disconnectCause(closedWith);
    if (kind === 'sse') {
      this.streamsClosed.inc({ cause });
      this.streamsOpen.dec();
    } else {
      this.disconnects.inc({ cause });
      this.socketsOpen.dec();
    }
    return cause;
  }
}

/** Why the server closed a socket, as the `cause` label of `notify_socket_disconnects_total`. */
const CLOSE_CAUSES: Record<number, string> = {
  [SocketCloseCode.GoingAway]: 'shutdown',
  [SocketCloseCode.UnsupportedData]: 'unsupported_data',
  [SocketCloseCode.PolicyViolation]: 'policy',
  [SocketCloseCode.InternalError]: 'internal_error',
  [SocketCloseCode.TryAgainLater]: 'unavailable',
  [SocketCloseCode.TokenExpired]: 'token_expired',
  [SocketCloseCode.Disconnected]: 'disconnected',
  [SocketCloseCode.TooSlow]: 'too_slow',
};

/** `closedWith`: the code the server closed with, 0 when the client closed or the connection dropped. */
export function disconnectCause(closedWith: number): string {
  return closedWith === 0 ? 'client' : (CLOSE_CAUSES[closedWith] ?? 'other');
}
