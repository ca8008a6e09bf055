import { Injectable, Logger } from '@nestjs/common';
import { AmqpConfig } from '@app/config';
import { TaskStatsQueries } from '@app/persistence';
import { QueuePublisher, deadLetterQueueOf } from '@app/publishing';
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
  /** This gateway instance's sockets and users (other instances hold their own). */
  sockets: { connections: number; users: number };
  /** `messages` is null when the broker could not be asked. */
  dead_letter: { queue: string; messages: number | null };
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
    private readonly config: AmqpConfig,
  ) {}

  async stats(minutes: number, now = new Date()): Promise<DashboardStats> {
    const end = Math.floor(now.getTime() / MINUTE) * MINUTE;
    const from = new Date(end - (minutes - 1) * MINUTE);
    const [counts, latency, deadLetters] = await Promise.all([
      this.queries.countsByMinute(from),
      this.queries.latency(from),
      this.deadLetterCount(),
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
      sockets: { connections: this.presence.connectionCount, users: this.presence.userCount },
      dead_letter: { queue: this.deadLetterQueue, messages: deadLetters },
    };
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
