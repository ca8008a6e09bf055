import type { INestApplication } from '@nestjs/common';
import { migrateDatabase } from '@app/persistence';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { PostgresReplicaPair } from '@test/support/postgres-replica';
import {
  TestSocket,
  eventually,
  signToken,
  storeNotification,
  testConfig,
  withDatabase,
} from '@test/support/test-context';

/**
 * DATABASE_REPLICA_URL against a real streaming replica whose replay the test pauses: what the
 * gateway reads from it lags on purpose, so every read shows which server answered it.
 */
describe('reads that tolerate lag go to the replica; resume and receipts to the primary', () => {
  const database = 'notifications';
  let pair: PostgresReplicaPair;
  let gateway: INestApplication;
  let base: string;
  let primaryUrl: string;

  beforeAll(async () => {
    pair = await PostgresReplicaPair.start();
    primaryUrl = pair.url(pair.primaryPort, database);
    await migrateDatabase(primaryUrl);
    await pair.caughtUp();
    gateway = await createGateway(
      testConfig({ DATABASE_URL: primaryUrl, DATABASE_REPLICA_URL: pair.url(pair.replicaPort, database) }),
    );
    await gateway.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await pair?.stop();
  });

  const get = async (path: string, token: string) => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** `notify_lag_tolerant_reads_total` by `served_by`, read from the gateway's /metrics. */
  const readsServedBy = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const [, by, value] of text.matchAll(
      /^notify_lag_tolerant_reads_total\{[^}]*served_by="(\w+)"[^}]*\} (\d+)/gm,
    )) {
      counts[by] = Number(value);
    }
    return counts;
  };
  const listedIds = async (token: string) =>
    ((await get('/api/notifications', token)).body.results as Array<{ id: number }>).map(({ id }) => id).sort();

  it('lists and counts from the replica, resumes a socket and answers read receipts from the primary', async () => {
    const userId = `replica-${randomUUID().slice(0, 8)}`;
    const token = signToken({ user_id: userId });
    const first = await storeNotification(userId, { n: 1 }, { databaseUrl: primaryUrl });
    await pair.caughtUp();
    await pair.pauseReplay();
    const second = await storeNotification(userId, { n: 2 }, { databaseUrl: primaryUrl });

    expect(await listedIds(token)).toEqual([first.id]);
    expect((await get('/api/notifications/unread_count', token)).body).toEqual({ unread_count: 1 });

    const ws = base.replace('http', 'ws');
    const socket = await TestSocket.open(`${ws}/ws/notifications/?token=${token}&since=0`);
    const resumed = await eventually(() => socket.framesOf('resumed')[0]);
    expect(resumed).toMatchObject({ data: { count: 2 } });
    expect(socket.framesOf('notification').map((frame) => frame.id)).toEqual([first.id, second.id]);
    await socket.close();

    const readAll = await fetch(`${base}/api/notifications/read_all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await readAll.json()).toMatchObject({ unread_count: 0 });
    expect((await get('/api/notifications/unread_count', token)).body).toEqual({ unread_count: 1 });

    await pair.resumeReplay();
    expect(await listedIds(token)).toEqual([first.id, second.id]);
    expect((await get('/api/notifications/unread_count', token)).body).toEqual({ unread_count: 0 });
  });

  it('serves the admin task API from the replica', async () => {
    const admin = signToken({ user_id: 1, is_staff: true });
    const taskId = randomUUID();
    await pair.pauseReplay();
    await withDatabase(
      (db) =>
        db.query(
          `INSERT INTO django_celery_results_taskresult
             (task_id, status, content_type, content_encoding, result, date_done, meta, task_name, worker, date_created, date_started)
           VALUES ($1, 'SUCCESS', 'application/json', 'utf-8', 'null', now(), '{"children": []}', 'send_notification', 'w', now(), now())`,
          [taskId],
        ),
      primaryUrl,
    );
    expect((await get(`/api/tasks/${taskId}`, admin)).status).toBe(404);
    await pair.resumeReplay();
    expect((await get(`/api/tasks/${taskId}`, admin)).body).toMatchObject({ task_id: taskId, status: 'SUCCESS' });
  });

  it('reads from the primary while the replica is down, and keeps answering', async () => {
    const userId = `replica-${randomUUID().slice(0, 8)}`;
    const token = signToken({ user_id: userId });
    const before = await readsServedBy();
    await pair.stopReplica();
    const stored = await storeNotification(userId, { n: 3 }, { databaseUrl: primaryUrl });
    expect(await listedIds(token)).toEqual([stored.id]);
    expect(await listedIds(token)).toEqual([stored.id]);

    // The first read found the replica down; the second did not try it again (its back-off).
    const after = await readsServedBy();
    const grew = (by: string) => (after[by] ?? 0) - (before[by] ?? 0);
    expect(before.replica).toBeGreaterThan(0);
    expect({
      replica: grew('replica'),
      primary_after_replica_error: grew('primary_after_replica_error'),
      primary_while_replica_backs_off: grew('primary_while_replica_backs_off'),
    }).toEqual({ replica: 0, primary_after_replica_error: 1, primary_while_replica_backs_off: 1 });
  });
});
