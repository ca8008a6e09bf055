import { RedisFanout } from '@app/fanout';
import { AppProcess } from '@test/support/app-process';
import { TestPublisher, eventually, testConfig, uniqueName, withDatabase } from '@test/support/test-context';

/**
 * SIGTERM to a worker in the middle of a stream: it stops taking messages, finishes and
 * acknowledges the ones it holds, and exits 0 in time; what it did not take stays on the queue for
 * the next worker. Nothing is lost and nothing is done twice.
 */
describe('worker shutdown during a stream', () => {
  const queue = uniqueName('send_notification');
  const env = { AMQP_QUEUE: queue, SHUTDOWN_TIMEOUT_MS: '5000', AMQP_PREFETCH: '32' };
  const total = 300;
  const ids = Array.from({ length: total }, (_, index) => `shutdown-${queue}-${index}`);
  const deliveries = new Map<string, number>();
  let fanout: RedisFanout;
  let publisher: TestPublisher;
  const workers: AppProcess[] = [];

  const recorded = () =>
    withDatabase(async (db) => {
      const { rows } = await db.query<{ task_id: string; status: string }>(
        'SELECT task_id, status FROM django_celery_results_taskresult WHERE task_id = ANY($1)',
        [ids],
      );
      return rows;
    });

  beforeAll(async () => {
    // Counts every notification the workers fan out, per task: a message run twice shows up here.
    fanout = new RedisFanout(testConfig());
    fanout.listen((_, frame) => {
      const taskId = (JSON.parse(frame.toString()) as { task_id: string }).task_id;
      deliveries.set(taskId, (deliveries.get(taskId) ?? 0) + 1);
    });
    await fanout.subscribe('Notifications_shutdown-user');
    publisher = await TestPublisher.connect();
    await publisher.declare(queue);
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await publisher?.deleteQueue(queue);
    await publisher?.close();
    await fanout?.onModuleDestroy();
  });

  it('loses nothing, runs nothing twice, and exits 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const first = await AppProcess.start('worker', env, /consuming/);
    workers.push(first);
    // The stream goes on, one confirmed message at a time, before, during and after the shutdown.
    const stream = (async () => {
      for (const [index, id] of ids.entries())
        await publisher.publish(queue, { user_id: 'shutdown-user', message: { index } }, { messageId: id });
    })();

    await eventually(
      async () => ((await recorded()).length >= 50 ? true : undefined),
      20_000,
      'the first worker to be busy',
    );
    const signalledAt = Date.now();
    const exitCode = await first.stop('SIGTERM');
    const shutdownMs = Date.now() - signalledAt;
    const doneByFirst = (await recorded()).length;

    expect(exitCode).toBe(0);
    expect(shutdownMs).toBeLessThan(5000);
    expect(first.logLines.some((line) => line.includes('Received SIGTERM'))).toBe(true);
    // Finished what it held with its connections still open: not one task failed or was put back.
    expect(first.logs().filter((log) => Number(log.level) >= 40)).toEqual([]);
    // It stopped in the middle: some of the stream was left for the next worker.
    expect(doneByFirst).toBeLessThan(total);

    await stream;
    workers.push(await AppProcess.start('worker', env, /consuming/));
    const rows = await eventually(
      async () => {
        const found = await recorded();
        return found.length === total ? found : undefined;
      },
      30_000,
      'a row for every task',
    );

    expect(rows.filter((row) => row.status !== 'SUCCESS')).toEqual([]);
    expect(new Set(rows.map((row) => row.task_id)).size).toBe(total);
    await eventually(
      () => (deliveries.size === total ? true : undefined),
      10_000,
      'every notification to be fanned out',
    );
    expect([...deliveries.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(await publisher.messageCount(queue)).toBe(0);
  });
});
