import { AppProcess } from './app-process';
import { TestPublisher } from './test-context';

/**
 * The system as the end-to-end tests run it: `gatewayCount` gateways and a worker as processes on
 * the queue `env.AMQP_QUEUE`, and a publisher. `stop()` stops them and removes the queues.
 */
export class AppStack {
  private constructor(
    readonly gateways: AppProcess[],
    readonly worker: AppProcess,
    readonly publisher: TestPublisher,
    private readonly queue: string,
  ) {}

  static async start(env: Record<string, string> & { AMQP_QUEUE: string }, gatewayCount = 2): Promise<AppStack> {
    const [worker, ...gateways] = await Promise.all([
      AppProcess.start('worker', env, /consuming/),
      ...Array.from({ length: gatewayCount }, () => AppProcess.start('gateway', env, /Gateway listening/)),
    ]);
    return new AppStack(gateways, worker, await TestPublisher.connect(), env.AMQP_QUEUE);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways, this.worker].map((app) => app.stop()));
    await this.publisher.deleteQueue(this.queue);
    await this.publisher.deleteQueue(`${this.queue}.dead-letter`);
    await this.publisher.close();
  }
}
