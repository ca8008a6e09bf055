import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@app/metrics';

/** What the gateway counts; every label comes from a small fixed set. */
@Injectable()
export class GatewayMetrics {
  readonly socketsOpen;
  readonly connects;
  readonly disconnects;
  readonly handshakeRefusals;
  readonly framesIn;
  readonly framesOut;
  readonly dropped;
  readonly deliveryLatency;

  constructor(metrics: MetricsRegistry) {
    this.socketsOpen = metrics.gauge({ name: 'notify_sockets_open', help: 'WebSockets open on this gateway' });
    this.connects = metrics.counter({ name: 'notify_socket_connects_total', help: 'WebSockets opened' });
    this.disconnects = metrics.counter({ name: 'notify_socket_disconnects_total', help: 'WebSockets closed' });
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
  }
}
