import { deadLetterQueueOf } from '@app/publishing';
import { AppProcess } from './app-process';
import { TestPublisher } from './test-context';

/**
 * The system as the end-to-end tests run it: `gatewayCount` gateways and `workerCount` workers as
 * processes on the queue `env.AMQP_QUEUE`, and a publisher. With more than one worker, each is
 * named `<WORKER_NAME>-<n>` (from 1), so that its result rows tell which one ran a task. `stop()`
 * stops them and removes the queues.
 */
export class AppStack {
  private constructor(
    readonly gateways: AppProcess[],
    readonly workers: AppProcess[],
    readonly publisher: TestPublisher,
    private readonly queue: string,
  ) {}

  /** The (first) worker. */
  get worker(): AppProcess {
    return this.workers[0];
  }

  static async start(
    env: Record<string, string> & { AMQP_QUEUE: string },
    gatewayCount = 2,
    workerCount = 1,
  ): Promise<AppStack> {
    const workerEnv = (n: number) =>
      workerCount > 1 ? { ...env, WORKER_NAME: `${env.WORKER_NAME ?? 'celery@e2e'}-${n}` } : env;
    const starts = await Promise.allSettled([
      ...Array.from({ length: workerCount }, (_, i) => AppProcess.start('worker', workerEnv(i + 1), /consuming/)),
      ...Array.from({ length: gatewayCount }, () => AppProcess.start('gateway', env, /Gateway listening/)),
    ]);
    const apps = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
    const failed = starts.find((start) => start.status === 'rejected');
    if (failed) {
      // Nothing left running to keep jest from exiting.
      await Promise.all(apps.map((app) => app.stop()));
      throw failed.reason;
    }
    return new AppStack(
      apps.slice(workerCount),
      apps.slice(0, workerCount),
      await TestPublisher.connect(),
      env.AMQP_QUEUE,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways, ...this.workers].map((app) => app.stop()));
    await this.publisher.deleteQueue(this.queue);
    await this.publisher.deleteQueue(deadLetterQueueOf(this.queue));
    await this.publisher.close();
  }
}
