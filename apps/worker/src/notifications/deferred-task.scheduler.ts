import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DeferredTaskConfig } from '@app/config';
import { DeferredTaskRepository } from '@app/persistence';
import { QueuePublisher } from '@app/publishing';
import type { Options } from 'amqplib';

/** How long before its eta a deferred task is published again: the consumer then holds it to the millisecond. */
const LEAD_MS = 2000;
const BATCH = 500;

/**
 * Publishes stored deferred tasks (see `DeferredTasks`) to the task queue again shortly before
 * they are due, on a confirm channel, and deletes them in the same transaction: a task whose
 * publish was not confirmed stays stored. Every worker runs it; rows one worker has claimed are
 * skipped by the others. A crash after the confirm and before the commit publishes a task twice,
 * which its task id makes harmless.
 */
@Injectable()
export class DeferredTaskScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeferredTaskScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: DeferredTaskRepository,
    private readonly publisher: QueuePublisher,
    private readonly config: DeferredTaskConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.releaseDue().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.config.DEFERRED_TASK_POLL_MS);
    this.timer.unref();
  }

  /** Publishes everything due within the lead, a batch at a time. */
  private async releaseDue(): Promise<void> {
    const lead = Math.min(LEAD_MS, this.config.DEFERRED_TASK_HOLD_SECONDS * 1000);
    try {
      for (;;) {
        const released = await this.store.releaseDue(new Date(Date.now() + lead), BATCH, (messages) =>
          Promise.all(
            messages.map((message) =>
              this.publisher.publishMessage(message.content, message.properties as Options.Publish),
            ),
          ).then(() => undefined),
        );
        if (released > 0) this.logger.log({ msg: 'Deferred tasks due: published again', count: released });
        if (released < BATCH || this.stopped) return;
      }
    } catch (error) {
      // Postgres or the broker is down: the tasks stay stored and the next round tries again.
      this.logger.warn({ msg: 'Releasing deferred tasks failed', error: (error as Error).message });
    }
  }
}
