import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AmqpConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import { DeadLetterOutcome, DeadLetterQueue, DeadLetterSelection } from '@app/publishing';
import { DeadLetterView, toDeadLetterView } from './dead-letters.dto';

export type DeadLetterAction = 'list' | 'reveal' | 'requeue' | 'discard';

/**
 * What an admin may do with the dead-letter queue, each action logged with who did it and counted
 * (`notify_dead_letter_actions_total{action}`). Bodies are never logged, even when revealed.
 */
@Injectable()
export class DeadLetterActions implements OnModuleInit {
  private readonly logger = new Logger(DeadLetterActions.name);
  private readonly queue: DeadLetterQueue;
  private readonly actions;

  constructor(config: AmqpConfig, metrics: MetricsRegistry) {
    this.queue = new DeadLetterQueue(config.AMQP_URL, config.AMQP_QUEUE);
    this.actions = metrics.counter({
      name: 'notify_dead_letter_actions_total',
      help: 'Admin actions on the dead-letter queue, by action',
      labelNames: ['action'] as const,
    });
  }

  onModuleInit(): void {
    // Every action at 0 from the start, so a dashboard sees the series before the first use.
    for (const action of ['list', 'reveal', 'requeue', 'discard'] as const) this.actions.inc({ action }, 0);
  }

  async list(
    adminId: string,
    limit: number,
    reveal: boolean,
  ): Promise<{ queue: string; total: number; messages: DeadLetterView[] }> {
    const { total, messages } = await this.queue.list(limit, reveal);
    this.record(reveal ? 'reveal' : 'list', adminId, { shown: messages.length, total });
    return { queue: this.queue.name, total, messages: messages.map(toDeadLetterView) };
  }

  async requeue(adminId: string, selection: DeadLetterSelection): Promise<DeadLetterOutcome> {
    const outcome = await this.queue.requeue(selection);
    this.record('requeue', adminId, summary(selection, outcome));
    return outcome;
  }

  async discard(adminId: string, selection: DeadLetterSelection): Promise<DeadLetterOutcome> {
    const outcome = await this.queue.discard(selection);
    this.record('discard', adminId, summary(selection, outcome));
    return outcome;
  }

  private record(action: DeadLetterAction, adminId: string, details: Record<string, unknown>): void {
    this.actions.inc({ action });
    this.logger.log({ msg: `Dead letters: ${action}`, action, adminId, queue: this.queue.name, ...details });
  }
}

/** The ids acted on (task ids, or body hashes): no body content. */
function summary(selection: DeadLetterSelection, outcome: DeadLetterOutcome): Record<string, unknown> {
  return {
    all: 'all' in selection,
    count: outcome.done.length,
    ids: outcome.done.slice(0, 100),
    notFound: outcome.notFound,
  };
}
