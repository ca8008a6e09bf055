import { Injectable, Logger } from '@nestjs/common';
import { AmqpConfig } from '@app/config';
import { BroadcastRepository, TaskStatsQueries } from '@app/persistence';
import { QueuePublisher, deadLetterQueueOf } from '@app/publishing';
import { ClusterPresence } from '../notifications/cluster-presence';
import { ConnectionPresence } from '../notifications/connection-presence';
import { TaskResultView, toTaskResultView } from '../tasks/task-result.view';
import { RecentTasksQuery } from './dashboard.queries';

export interface DashboardStats {
  generated_at: string;
  window: { minutes: number; from: string };
  /** One entry per minute of the window, oldest first, with the results finished in it by status. */
  series: Array<{ minute: string; counts: Record<string, number> }>;
  totals: Record<string, number>;
  /** Tasks finished per minute over the last 5 minutes. */
  throughput_per_minute: number;
  /** From receipt to result (`date_done - date_created`) over the window. */
  latency_ms: { avg: number | null; p95: number | null; count: number };
  /**
   * Connections and users of the whole cluster (`scope: 'cluster'`, from presence in Redis), with
   * each live gateway's share; only this gateway's (`scope: 'gateway'`) when Redis could not be
   * read. `connections` counts sockets and Server-Sent Events streams; `streams` the latter.
   */
  sockets: {
    scope: 'cluster' | 'gateway';
    connections: number;
    streams: number;
    users: number;
    gateways: Array<{ gateway: string; connections: number; streams: number; users: number; this: boolean }>;
  };
  /** `messages` is null when the broker could not be asked. */
  dead_letter: { queue: string; messages: number | null };
  /** Broadcasts made in the window (`POST /api/broadcast` and `{"broadcast": true}` tasks). */
  broadcasts: number;
}

const MINUTE = 60_000;
const THROUGHPUT_MINUTES = 5;

/** What the admin dashboard shows: read from the results table, so nothing is lost on a restart. */
@Injectable()
export class DashboardService {
  private readonly logger = new Logger(DashboardService.name);

  constructor(
    private readonly queries: TaskStatsQueries,
    private readonly publisher: QueuePublisher,
    private readonly presence: ConnectionPresence,
    private readonly cluster: ClusterPresence,
    private readonly config: AmqpConfig,
    private readonly broadcastRows: BroadcastRepository,
  ) {}

  async stats(minutes: number, now = new Date()): Promise<DashboardStats> {
    const end = Math.floor(now.getTime() / MINUTE) * MINUTE;
    const from = new Date(end - (minutes - 1) * MINUTE);
    const [counts, latency, deadLetters, sockets, broadcasts] = await Promise.all([
      this.queries.countsByMinute(from),
      this.queries.latency(from),
      this.deadLetterCount(),
      this.sockets(),
      this.broadcastRows.countWithin(Math.ceil((now.getTime() - from.getTime()) / 1000)),
    ]);

    const series: DashboardStats['series'] = Array.from({ length: minutes }, (_, i) => ({
      minute: new Date(from.getTime() + i * MINUTE).toISOString(),
      counts: {},
    }));
    const totals: Record<string, number> = {};
    let recent = 0;
    for (const row of counts) {
      const slot = series[Math.round((row.minute.getTime() - from.getTime()) / MINUTE)];
      if (!slot) continue;
      slot.counts[row.status] = (slot.counts[row.status] ?? 0) + row.count;
      totals[row.status] = (totals[row.status] ?? 0) + row.count;
      if (row.minute.getTime() > end - THROUGHPUT_MINUTES * MINUTE) recent += row.count;
    }
    return {
      generated_at: now.toISOString(),
      window: { minutes, from: from.toISOString() },
      series,
      totals,
      throughput_per_minute: Math.round((recent / Math.min(THROUGHPUT_MINUTES, minutes)) * 10) / 10,
      latency_ms: { avg: round(latency.avgMs), p95: round(latency.p95Ms), count: latency.count },
      sockets,
      dead_letter: { queue: this.deadLetterQueue, messages: deadLetters },
      broadcasts,
    };
  }

  private async sockets(): Promise<DashboardStats['sockets']> {
    try {
      const gateways = await this.cluster.gateways();
      const users = new Set(gateways.flatMap(({ sockets }) => [...sockets.keys()]));
      const shares = gateways.map(({ gateway, sockets, streams }) => ({
        gateway,
        connections: [...sockets.values()].reduce((sum, count) => sum + count, 0),
        streams,
        users: sockets.size,
        this: gateway === this.cluster.gatewayId,
      }));
      const connections = shares.reduce((sum, share) => sum + share.connections, 0);
      const streams = shares.reduce((sum, share) => sum + share.streams, 0);
      return { scope: 'cluster', connections, streams, users: users.size, gateways: shares };
    } catch (error) {
      this.logger.warn({
        msg: 'Cluster presence unavailable; showing this gateway only',
        error: (error as Error).message,
      });
      const here = {
        connections: this.presence.connectionCount,
        streams: this.presence.streamCount,
        users: this.presence.userCount,
      };
      return { scope: 'gateway', ...here, gateways: [{ gateway: this.cluster.gatewayId, ...here, this: true }] };
    }
  }

  async recentTasks(query: RecentTasksQuery): Promise<TaskResultView[]> {
    const rows = await this.queries.recent({
      status: query.status,
      name: query.name?.trim() || undefined,
      user: query.user?.trim() || undefined,
      limit: query.limit,
    });
    return rows.map(toTaskResultView);
  }

  /** The worker's dead-letter queue for AMQP_QUEUE; only counted (a passive check), never declared here. */
  private get deadLetterQueue(): string {
    return deadLetterQueueOf(this.config.AMQP_QUEUE);
  }

  private async deadLetterCount(): Promise<number | null> {
    try {
      return await this.publisher.messageCount(this.deadLetterQueue);
    } catch (error) {
      this.logger.warn(`Could not count dead-lettered messages: ${(error as Error).message}`);
      return null;
    }
  }
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}
