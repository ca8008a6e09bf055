import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { RedisFanout } from '@app/fanout';
import { deadLetterQueueOf } from '@app/publishing';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { InboxPartitionMaintainer } from '../../apps/worker/src/inbox-partitions/inbox-partition-maintainer';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  testConfig,
  upgradeStatus,
  withDatabase,
} from '@test/support/test-context';
import { TestStream } from '@test/support/test-stream';

/** Every metric name in the table of docs/operations.md#metrics, with the app that serves it. */
function documentedMetrics(): Map<string, 'gateway' | 'worker'> {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Metrics'), doc.indexOf('\n## ', doc.indexOf('## Metrics') + 1));
  const metrics = new Map<string, 'gateway' | 'worker'>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `notify_'))) {
    const [names, app] = row.split('|').slice(1, 3);
    for (const [, name] of names.matchAll(/`(notify_[a-z_]+)/g)) metrics.set(name, app.trim() as 'gateway' | 'worker');
  }
  return metrics;
}

/** The sum of a series' samples in a /metrics text: `name` with every label in `labels`. */
function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (Object.entries(labels).every(([key, value]) => (match[2] ?? '').includes(`${key}="${value}"`)))
      sum += Number(match[3]);
  }
  return sum;
}

/**
 * Each metric the operations guide lists moves when the event it counts happens, in a real
 * gateway and worker (in process) on the real services. A metric added to the table without a
 * probe here fails the first test.
 */
describe('the metrics table of docs/operations.md (real gateway, worker and services)', () => {
  let config: AppConfig;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let fanout: RedisFanout;
  let gatewayUrl: string;
  const slowTaskId = `slow-${randomUUID()}`;
  const failingTaskId = `failing-${randomUUID()}`;
  const cacheTable = `metrics_cache_${randomUUID().slice(0, 8)}`;
  const workerName = `celery@metrics-${randomUUID().slice(0, 8)}`;
  const admin = () => ({ authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}` });

  beforeAll(async () => {
    config = testConfig({
      AMQP_PREFETCH: '1',
      TASK_MAX_ATTEMPTS: '2',
      DEFERRED_TASK_HOLD_SECONDS: '0',
      WS_MAX_BUFFERED_BYTES: '1024',
      RESULT_BACKENDS: 'django-db,django-cache',
      RESULT_CACHE_TABLE: cacheTable,
      WORKER_NAME: workerName,
      CELERY_CONTROL_EXCHANGE: `metrics-${randomUUID().slice(0, 8)}`,
    });
    await withDatabase((db) =>
      db.query(
        `CREATE TABLE "${cacheTable}" ("cache_key" varchar(255) NOT NULL PRIMARY KEY, "value" text NOT NULL, "expires" timestamp with time zone NOT NULL)`,
      ),
    );
    await withDatabase((db) =>
      db.query(`
        CREATE OR REPLACE FUNCTION metrics_table_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.task_id = '${failingTaskId}' THEN RAISE EXCEPTION 'refused for the metrics test'; END IF;
          IF NEW.task_id = '${slowTaskId}' THEN PERFORM pg_sleep(3); END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER metrics_table_trigger BEFORE INSERT ON notification_inbox
          FOR EACH ROW EXECUTE FUNCTION metrics_table_trigger();`),
    );
    publisher = await TestPublisher.connect(config.AMQP_URL);
    fanout = new RedisFanout(config);
    // The primary stands in for a replica: reads that may lag count which server answered.
    gateway = await createGateway({ ...config, DATABASE_REPLICA_URL: config.DATABASE_URL });
    await gateway.listen(0, '127.0.0.1');
    gatewayUrl = `127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
    worker = await createWorker(config);
    await worker.listen();
  });

  afterAll(async () => {
    await worker?.close();
    await gateway?.close();
    await fanout?.onModuleDestroy();
    await withDatabase((db) =>
      db.query(
        `DROP TRIGGER IF EXISTS metrics_table_trigger ON notification_inbox; DROP FUNCTION IF EXISTS metrics_table_trigger();
         DROP TABLE IF EXISTS "${cacheTable}"; DROP TABLE IF EXISTS "${cacheTable}_away"`,
      ),
    );
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  const scrape = async (app: 'gateway' | 'worker') =>
    (await fetch(`${app === 'gateway' ? `http://${gatewayUrl}` : worker.httpUrl()}/metrics`)).text();
  const read = async (app: 'gateway' | 'worker', name: string, labels?: Record<string, string>) =>
    sampleOf(await scrape(app), name, labels);
  /** Resolves once the series is above `before`. */
  const rises = (app: 'gateway' | 'worker', name: string, before: number, labels?: Record<string, string>) =>
    eventually(async () => ((await read(app, name, labels)) > before ? true : undefined), 10_000, `${name} to move`);
  const streamOf = (userId: string, options?: { read: boolean }) =>
    TestStream.open(
      `http://${gatewayUrl}/api/notifications/stream?token=${signToken({ user_id: userId })}`,
      {},
      options,
    );
  const socketOf = (userId: string) =>
    TestSocket.open(`ws://${gatewayUrl}/ws/notifications/?token=${signToken({ user_id: userId })}`);
  const celeryMessage = (taskId: string, headers: Record<string, unknown>) => ({
    body: [['celery-metrics', 'hi'], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
    properties: {
      contentType: 'application/json',
      correlationId: taskId,
      headers: { lang: 'py', task: 'notifications.tasks.send_notification_task', id: taskId, ...headers },
    },
  });

  /** How each documented metric is made to move: the event it counts, then the check. */
  const probes: Record<string, () => Promise<void>> = {
    notify_sockets_open: async () => {
      const before = await read('gateway', 'notify_sockets_open');
      const socket = await socketOf('metrics-open');
      expect(await read('gateway', 'notify_sockets_open')).toBe(before + 1);
      await socket.close();
      await eventually(async () => ((await read('gateway', 'notify_sockets_open')) === before ? true : undefined));
    },
    notify_socket_connects_total: async () => {
      const before = await read('gateway', 'notify_socket_connects_total');
      await (await socketOf('metrics-connects')).close();
      await rises('gateway', 'notify_socket_connects_total', before);
    },
    notify_socket_disconnects_total: async () => {
      const before = await read('gateway', 'notify_socket_disconnects_total');
      await (await socketOf('metrics-disconnects')).close();
      await rises('gateway', 'notify_socket_disconnects_total', before);
    },
    notify_token_refreshes_total: async () => {
      const before = await read('gateway', 'notify_token_refreshes_total', { outcome: 'refreshed' });
      const socket = await socketOf('metrics-refresh');
      socket.send({ event: 'refresh', data: { token: signToken({ user_id: 'metrics-refresh' }) } });
      await eventually(() => socket.framesOf('refreshed')[0]);
      await socket.close();
      await rises('gateway', 'notify_token_refreshes_total', before, { outcome: 'refreshed' });
    },
    notify_presence_lookups_total: async () => {
      const before = await read('gateway', 'notify_presence_lookups_total', { kind: 'user' });
      const response = await fetch(`http://${gatewayUrl}/api/presence/metrics-presence`, { headers: admin() });
      expect(response.status).toBe(200);
      await rises('gateway', 'notify_presence_lookups_total', before, { kind: 'user' });
    },
    notify_handshake_refusals_total: async () => {
      const before = await read('gateway', 'notify_handshake_refusals_total', { status: '401' });
      expect(await upgradeStatus(`ws://${gatewayUrl}/ws/notifications/?token=not-a-token`)).toBe(401);
      await rises('gateway', 'notify_handshake_refusals_total', before, { status: '401' });
    },
    notify_frames_in_total: async () => {
      const before = await read('gateway', 'notify_frames_in_total', { event: 'ping' });
      const socket = await socketOf('metrics-frames');
      socket.send({ event: 'ping' });
      await socket.nextFrame();
      await socket.close();
      await rises('gateway', 'notify_frames_in_total', before, { event: 'ping' });
    },
    notify_notifications_delivered_total: async () => {
      const before = await read('gateway', 'notify_notifications_delivered_total');
      const socket = await socketOf('metrics-delivered');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-delivered', message: 'hi' },
        { messageId: randomUUID() },
      );
      await eventually(() => socket.framesOf('notification')[0]);
      await socket.close();
      await rises('gateway', 'notify_notifications_delivered_total', before);
    },
    notify_notifications_dropped_total: async () => {
      const before = await read('gateway', 'notify_notifications_dropped_total', { reason: 'slow_consumer' });
      const socket = await socketOf('metrics-slow');
      // The client stops reading: the kernel's buffers fill, then the gateway's (WS_MAX_BUFFERED_BYTES).
      (socket.socket as WebSocket & { _socket: { pause(): void } })._socket.pause();
      const frame = JSON.stringify({ event: 'notification', message: 'x'.repeat(60_000) });
      for (let i = 0; i < 400 && socket.closeCode === null; i++)
        await fanout.publish('Notifications_metrics-slow', frame);
      await rises('gateway', 'notify_notifications_dropped_total', before, { reason: 'slow_consumer' });
      socket.socket.terminate();
    },
    notify_sse_streams_open: async () => {
      const before = await read('gateway', 'notify_sse_streams_open');
      const stream = await streamOf('metrics-sse-open');
      expect(await read('gateway', 'notify_sse_streams_open')).toBe(before + 1);
      await stream.close();
      await eventually(async () => ((await read('gateway', 'notify_sse_streams_open')) === before ? true : undefined));
    },
    notify_sse_streams_closed_total: async () => {
      const before = await read('gateway', 'notify_sse_streams_closed_total', { cause: 'client' });
      await (await streamOf('metrics-sse-closed')).close();
      await rises('gateway', 'notify_sse_streams_closed_total', before, { cause: 'client' });
    },
    notify_sse_events_total: async () => {
      const before = await read('gateway', 'notify_sse_events_total', { event: 'notification' });
      const stream = await streamOf('metrics-sse-events');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-sse-events', message: 'hi' },
        { messageId: randomUUID() },
      );
      await eventually(() => stream.eventsOf('notification')[0]);
      await stream.close();
      await rises('gateway', 'notify_sse_events_total', before, { event: 'notification' });
    },
    notify_sse_refusals_total: async () => {
      const before = await read('gateway', 'notify_sse_refusals_total', { status: '400' });
      const refusal = await TestStream.refusal(`http://${gatewayUrl}/api/notifications/stream`, {
        'last-event-id': 'x',
      });
      expect(refusal.status).toBe(400);
      await rises('gateway', 'notify_sse_refusals_total', before, { status: '400' });
    },
    notify_delivery_latency_seconds: async () => {
      const before = await read('gateway', 'notify_delivery_latency_seconds_count');
      const socket = await socketOf('metrics-latency');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-latency', message: 'hi' },
        { messageId: randomUUID() },
      );
      await eventually(() => socket.framesOf('notification')[0]);
      await socket.close();
      await rises('gateway', 'notify_delivery_latency_seconds_count', before);
    },
    notify_lag_tolerant_reads_total: async () => {
      const before = await read('gateway', 'notify_lag_tolerant_reads_total', { served_by: 'replica' });
      const listing = await fetch(`http://${gatewayUrl}/api/notifications`, {
        headers: { authorization: `Bearer ${signToken({ user_id: 'metrics-replica' })}` },
      });
      expect(listing.status).toBe(200);
      await rises('gateway', 'notify_lag_tolerant_reads_total', before, { served_by: 'replica' });
    },
    notify_dead_letter_actions_total: async () => {
      const before = await read('gateway', 'notify_dead_letter_actions_total', { action: 'list' });
      const response = await fetch(`http://${gatewayUrl}/api/admin/dead_letters?limit=1`, { headers: admin() });
      expect(response.status).toBe(200);
      await rises('gateway', 'notify_dead_letter_actions_total', before, { action: 'list' });
    },
    notify_tasks_total: async () => {
      const statuses = ['SUCCESS', 'FAILURE', 'REVOKED'];
      const before = await Promise.all(statuses.map((status) => read('worker', 'notify_tasks_total', { status })));
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-tasks', message: 'ok' },
        { messageId: randomUUID() },
      );
      await publisher.publish(config.AMQP_QUEUE, 'not json', { messageId: randomUUID() });
      const expired = celeryMessage(randomUUID(), { eta: null, expires: new Date(Date.now() - 60_000).toISOString() });
      await publisher.publish(config.AMQP_QUEUE, expired.body, expired.properties);
      for (const [i, status] of statuses.entries()) await rises('worker', 'notify_tasks_total', before[i], { status });
    },
    notify_task_duration_seconds: async () => {
      const before = await read('worker', 'notify_task_duration_seconds_count');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-duration', message: 'ok' },
        { messageId: randomUUID() },
      );
      await rises('worker', 'notify_task_duration_seconds_count', before);
    },
    notify_task_retries_total: async () => {
      const before = await read('worker', 'notify_task_retries_total', { reason: 'error' });
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-retry', message: 'x' },
        { messageId: failingTaskId },
      );
      await rises('worker', 'notify_task_retries_total', before, { reason: 'error' });
    },
    notify_dead_lettered_total: async () => {
      const before = await read('worker', 'notify_dead_lettered_total');
      await publisher.publish(config.AMQP_QUEUE, 'still not json', { messageId: randomUUID() });
      await rises('worker', 'notify_dead_lettered_total', before);
    },
    notify_control_commands_total: async () => {
      const before = await read('worker', 'notify_control_commands_total', { command: 'ping' });
      const pidbox = `${workerName}.${config.CELERY_CONTROL_EXCHANGE}.pidbox`;
      const ping = { method: 'ping', arguments: {}, destination: [workerName], reply_to: null, ticket: randomUUID() };
      await publisher.publish(pidbox, ping, { contentType: 'application/json', persistent: false });
      await rises('worker', 'notify_control_commands_total', before, { command: 'ping' });
    },
    notify_result_cache_writes_total: async () => {
      const before = await read('worker', 'notify_result_cache_writes_total');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-cache', message: 'ok' },
        { messageId: randomUUID() },
      );
      await rises('worker', 'notify_result_cache_writes_total', before);
    },
    notify_result_cache_write_failures_total: async () => {
      const before = await read('worker', 'notify_result_cache_write_failures_total');
      // The Django cache's table goes away: the result row is written, its cache copy cannot be.
      await withDatabase((db) => db.query(`ALTER TABLE "${cacheTable}" RENAME TO "${cacheTable}_away"`));
      try {
        await publisher.publish(
          config.AMQP_QUEUE,
          { user_id: 'metrics-cache', message: 'lost' },
          { messageId: randomUUID() },
        );
        await rises('worker', 'notify_result_cache_write_failures_total', before);
      } finally {
        await withDatabase((db) => db.query(`ALTER TABLE "${cacheTable}_away" RENAME TO "${cacheTable}"`));
      }
    },
    notify_task_id_conflicts_total: async () => {
      const before = await read('worker', 'notify_task_id_conflicts_total');
      const taskId = randomUUID();
      await publisher.publish(config.AMQP_QUEUE, { user_id: 'metrics-a', message: 'one' }, { messageId: taskId });
      await publisher.publish(config.AMQP_QUEUE, { user_id: 'metrics-b', message: 'two' }, { messageId: taskId });
      await rises('worker', 'notify_task_id_conflicts_total', before);
    },
    notify_task_recipients: async () => {
      const before = await read('worker', 'notify_task_recipients_sum');
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_ids: ['metrics-list-a', 'metrics-list-b', 'metrics-list-c'], message: 'to three' },
        { messageId: randomUUID() },
      );
      // One task for three users adds 3 to the sum (a task for one adds 1).
      await rises('worker', 'notify_task_recipients_sum', before + 2);
    },
    notify_tasks_deferred_total: async () => {
      const before = await read('worker', 'notify_tasks_deferred_total');
      const later = celeryMessage(randomUUID(), { eta: new Date(Date.now() + 3_600_000).toISOString(), expires: null });
      await publisher.publish(config.AMQP_QUEUE, later.body, later.properties);
      await rises('worker', 'notify_tasks_deferred_total', before);
    },
    notify_broadcasts_published_total: async () => {
      const viaRest = await read('gateway', 'notify_broadcasts_published_total', { via: 'rest' });
      const viaAmqp = await read('worker', 'notify_broadcasts_published_total', { via: 'amqp' });
      const response = await fetch(`http://${gatewayUrl}/api/broadcast`, {
        method: 'POST',
        headers: { ...admin(), 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'metrics over REST' }),
      });
      expect(response.status).toBe(202);
      await publisher.publish(
        config.AMQP_QUEUE,
        { broadcast: true, message: 'metrics over AMQP' },
        { messageId: randomUUID() },
      );
      await rises('gateway', 'notify_broadcasts_published_total', viaRest, { via: 'rest' });
      await rises('worker', 'notify_broadcasts_published_total', viaAmqp, { via: 'amqp' });
    },
    notify_broadcasts_delivered_total: async () => {
      const before = await read('gateway', 'notify_broadcasts_delivered_total');
      const socket = await socketOf('metrics-broadcast');
      await publisher.publish(
        config.AMQP_QUEUE,
        { broadcast: true, message: 'to everyone' },
        { messageId: randomUUID() },
      );
      await eventually(() => socket.framesOf('broadcast')[0]);
      await socket.close();
      await rises('gateway', 'notify_broadcasts_delivered_total', before);
    },
    notify_amqp_unacked: async () => {
      // The database holds this task's insert for 3 s: the worker (prefetch 1) holds its message.
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-slow-task', message: 'x' },
        { messageId: slowTaskId },
      );
      await eventually(async () => ((await read('worker', 'notify_amqp_unacked')) >= 1 ? true : undefined));
    },
    notify_amqp_queue_depth: async () => {
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 'metrics-slow-task', message: 'y' },
        { messageId: slowTaskId },
      );
      for (let i = 0; i < 3; i++)
        await publisher.publish(
          config.AMQP_QUEUE,
          { user_id: 'metrics-depth', message: i },
          { messageId: randomUUID() },
        );
      await eventually(async () => ((await read('worker', 'notify_amqp_queue_depth')) >= 1 ? true : undefined));
    },
    notify_inbox_partitions: async () => {
      // A maintenance pass: the partition ids go to now and at least two opened ahead of it.
      await worker.get(InboxPartitionMaintainer).runOnce();
      expect(await read('worker', 'notify_inbox_partitions')).toBeGreaterThanOrEqual(3);
    },
    notify_inbox_partition_ids_ahead: async () => {
      await worker.get(InboxPartitionMaintainer).runOnce();
      expect(await read('worker', 'notify_inbox_partition_ids_ahead')).toBeGreaterThanOrEqual(2_000_000);
    },
  };

  it('has a probe for every metric the table lists, and the table lists every probe', () => {
    expect(Object.keys(probes).sort()).toEqual([...documentedMetrics().keys()].sort());
  });

  it.each([...documentedMetrics()])('%s (%s) moves when its event happens', async (name) => {
    await probes[name]();
  });
});
