import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import type { Channel } from 'amqplib';
import { loadavg, type } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryBroker } from '../celery-node/celery-broker';
import { LamportClock } from '../celery-node/lamport-clock';
import { TaskActivity } from '../celery-node/task-activity';

/** Celery's heartbeat interval: `celery.events.state` counts a worker dead after missing a few. */
export const HEARTBEAT_SECONDS = 2;
const SOFTWARE = { sw_ident: 'notification-service', sw_ver: '1.0.0', sw_sys: type() };

/**
 * Celery's `EventDispatcher` as a worker runs it, for Flower and `celery events`: worker-online,
 * a worker-heartbeat every 2 s and worker-offline at shutdown, always (as a Celery worker without
 * `--without-heartbeat`); the task events only while task events are on (`-E`,
 * `CELERY_WORKER_SEND_TASK_EVENTS`, or the `enable_events` command Flower sends). Each event is a
 * JSON message on the `celeryev` topic exchange, routed by its type (`task-succeeded` as
 * `task.succeeded`), as celery/events/dispatcher.py publishes it.
 */
@Injectable()
export class CeleryEventDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CeleryEventDispatcher.name);
  private taskEvents: boolean;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Settles once the exchange is declared (or will be, first thing, on connecting). */
  private declared: Promise<void> = Promise.resolve();

  constructor(
    private readonly broker: CeleryBroker,
    private readonly activity: TaskActivity,
    private readonly clock: LamportClock,
    private readonly config: CeleryNodeConfig,
  ) {
    this.taskEvents = config.CELERY_WORKER_SEND_TASK_EVENTS;
  }

  onApplicationBootstrap(): void {
    this.declared = this.broker
      .addSetup((channel: Channel) =>
        // As kombu declares `Exchange('celeryev', type='topic')`: durable.
        channel.assertExchange(this.config.CELERY_EVENT_EXCHANGE, 'topic', { durable: true, autoDelete: false }),
      )
      .catch(() => undefined);
    this.activity.onEvent((eventType, fields) => {
      if (this.taskEvents) void this.send(eventType, fields());
    });
    void this.sendWorkerEvent('worker-online');
    this.heartbeat = setInterval(() => {
      // Heartbeats are not queued up while the broker is away: a stale one tells nothing.
      if (this.broker.isConnected()) void this.sendWorkerEvent('worker-heartbeat');
    }, HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    // Not sent while the broker is away: the worker does not wait for it to come back to stop.
    await Promise.race([this.sendWorkerEvent('worker-offline'), sleep(1000)]);
  }

  /** Switches task events on; false when they already were (Celery's reply tells which). */
  enableTaskEvents(): boolean {
    const changed = !this.taskEvents;
    this.taskEvents = true;
    return changed;
  }

  disableTaskEvents(): boolean {
    const changed = this.taskEvents;
    this.taskEvents = false;
    return changed;
  }

  get sendsTaskEvents(): boolean {
    return this.taskEvents;
  }

  /** `celery control heartbeat`: one heartbeat now. */
  sendHeartbeat(): Promise<void> {
    return this.sendWorkerEvent('worker-heartbeat');
  }

  private sendWorkerEvent(eventType: string): Promise<void> {
    return this.send(eventType, {
      freq: HEARTBEAT_SECONDS,
      active: this.activity.active().length,
      processed: this.activity.processed,
      loadavg: loadavg().map((load) => Math.round(load * 100) / 100),
      ...SOFTWARE,
    });
  }

  private async send(eventType: string, fields: Record<string, unknown>): Promise<void> {
    // Published before the declaration, an event would be refused (404) and the channel closed.
    await this.declared;
    const hostname = this.activity.hostname;
    const event = {
      ...fields,
      hostname,
      utcoffset: utcOffsetHours(),
      pid: process.pid,
      clock: this.clock.forward(),
      timestamp: Date.now() / 1000,
      type: eventType,
    };
    return this.broker
      .publishJson(this.config.CELERY_EVENT_EXCHANGE, eventType.replace(/-/g, '.'), event, {
        headers: { hostname },
        deliveryMode: 1,
      })
      .catch((error: Error) => this.logger.warn({ msg: 'Celery event not sent', eventType, error: error.message }));
  }
}

/** Celery's `utcoffset()`: `time.timezone // 3600`, hours west of UTC, rounded down. */
export function utcOffsetHours(now = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}
