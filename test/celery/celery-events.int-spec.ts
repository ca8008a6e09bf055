import type { AppConfig } from '@app/config';
import { createDatabaseIfMissing, migrateDatabase } from '@app/persistence';
import { randomBytes } from 'node:crypto';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { testConfig, uniqueName } from '@test/support/test-context';
import { CeleryPeer, removeCeleryTestWorld } from './celery-peer';

interface EventState {
  task_ids: string[];
  workers: Record<string, { alive: boolean; processed: number; heartbeats: number; sw_ident: string }>;
  tasks: Record<
    string,
    { state: string; name: string | null; runtime: number | null; result: string | null; hostname: string }
  >;
}

/**
 * What Flower shows, read with the classes Flower is built on: `celery.events.state.State` fed by
 * `app.events.Receiver` (Debian's Celery 5.2), and `celery events --dump` as an operator runs it.
 * The run's own event and control exchanges keep other runs' workers out of the picture.
 */
describe('Celery events (real Celery client: State, Receiver, celery events --dump)', () => {
  let config: AppConfig;
  let peer: CeleryPeer;
  let worker: WorkerApp;

  beforeAll(async () => {
    const databaseUrl = new URL(process.env.DATABASE_URL!);
    databaseUrl.pathname = `/notify_celery_ev_${randomBytes(4).toString('hex')}`;
    config = testConfig({
      DATABASE_URL: databaseUrl.toString(),
      WORKER_NAME: 'celery@node-events',
      CELERY_CONTROL_EXCHANGE: uniqueName('celery'),
      CELERY_EVENT_EXCHANGE: uniqueName('celeryev'),
    });
    peer = new CeleryPeer(config);
    await createDatabaseIfMissing(config.DATABASE_URL);
    await peer.call('migrate');
    await migrateDatabase(config.DATABASE_URL);
    worker = await createWorker(config);
    await worker.listen();
  });

  afterAll(async () => {
    await worker?.close();
    await removeCeleryTestWorld(config);
  });

  it('sends no task events until Flower’s enable_events asks for them', async () => {
    const quiet = await peer.call<EventState>('events-state', '6', '1', '61');
    expect(quiet.workers['celery@node-events']).toMatchObject({ alive: true });
    expect(quiet.tasks).toEqual({});

    expect(await peer.call('control', 'enable_events', '{}')).toEqual([
      { 'celery@node-events': { ok: 'task events enabled' } },
    ]);
  });

  it('shows the worker alive and every task in its final state with its runtime', async () => {
    const seen = await peer.call<EventState>('events-state', '20', '3', '62', '--failing');
    const node = seen.workers['celery@node-events'];
    expect(node).toMatchObject({ alive: true, sw_ident: expect.any(String) });
    expect(node.heartbeats).toBeGreaterThan(0);
    expect(node.processed).toBeGreaterThanOrEqual(4);

    const [failing, ...succeeding] = seen.task_ids.slice().reverse();
    for (const taskId of succeeding)
      expect(seen.tasks[taskId]).toMatchObject({
        state: 'SUCCESS',
        name: 'notifications.tasks.send_notification_task',
        runtime: expect.any(Number),
        result: expect.stringMatching(/^\{'notification_id': \d+, 'group': 'Notifications_62'\}$/),
        hostname: 'celery@node-events',
      });
    expect(seen.tasks[failing]).toMatchObject({ state: 'FAILURE', hostname: 'celery@node-events' });
  });

  it('is seen by celery events --dump', async () => {
    const { output } = await peer.call<{ output: string }>('events-dump', '5');
    expect(output).toMatch(/celery@node-events.*heartbeat/);
  });
});
