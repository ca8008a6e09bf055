import { Logger } from '@nestjs/common';
import type { WorkerApp } from './worker.factory';
import type { AppConfig } from '@app/config';
import { RedisFanout } from '@app/fanout';
import { randomUUID } from 'node:crypto';
import {
  TestPublisher,
  eventually,
  redeclareAccepted,
  storeNotification,
  taskRow,
  testConfig,
  withDatabase,
} from '@test/support/test-context';
import { TcpProxy } from '@test/support/tcp-proxy';
import { NotificationPublisher, deadLetterQueueOf } from '@app/publishing';
import * as amqp from 'amqplib';
import { InboxPartitionMaintainer } from './inbox-partitions/inbox-partition-maintainer';
import { createWorker } from './worker.factory';

describe('worker (real RabbitMQ, Postgres and Redis)', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let gateway: RedisFanout;
  const frames: Array<{ group: string; frame: Record<string, unknown> }> = [];

  beforeAll(async () => {
    config = testConfig({ WORKER_NAME: 'celery@int-spec' });
    publisher = await TestPublisher.connect(config.AMQP_URL);
    gateway = new RedisFanout(config);
    gateway.listen((group, frame) => frames.push({ group, frame: JSON.parse(frame.toString()) }));
    await gateway.subscribe('Notifications_42');
    worker = await createWorker(config);
    await worker.listen();
  });

  afterAll(async () => {
    await worker?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
    await gateway.onModuleDestroy();
  });

  const finished = (taskId: string) => eventually(() => taskRow(taskId), 10_000, `the row of ${taskId}`);

  /** Takes dead letters off the queue until the one `matches` picks; the others were earlier tests'. */
  const deadLetter = (matches: (message: amqp.GetMessage) => boolean) =>
    eventually(
      async () => {
        for (;;) {
          const message = await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE));
          if (!message) return undefined;
          if (matches(message)) return message;
        }
      },
      5000,
      'the dead letter',
    );

  it('fans a Nest message out to the user group and records SUCCESS with what happened', async () => {
    const taskId = randomUUID();
    await publisher.publish(
      config.AMQP_QUEUE,
      { pattern: 'send_notification', data: { user_id: 42, message: { text: 'hello' } } },
      { messageId: taskId },
    );
    const row = await finished(taskId);
    expect(row).toMatchObject({
      status: 'SUCCESS',
      task_name: 'send_notification',
      worker: 'celery@int-spec',
      content_type: 'application/json',
    });
    const result = JSON.parse(row.result as string);
    expect(result).toEqual({ notification_id: expect.any(Number), group: 'Notifications_42' });
    const delivered = await eventually(() => frames.find((f) => f.frame.task_id === taskId));
    expect(delivered).toEqual({
      group: 'Notifications_42',
      frame: {
        event: 'notification',
        type: 'notification',
        id: result.notification_id,
        seq: expect.any(Number),
        task_id: taskId,
        created_at: expect.any(String),
        message: { text: 'hello' },
      },
    });
  });

  it('accepts a plain JSON body and stores the notification in the inbox of a user who is offline', async () => {
    const taskId = randomUUID();
    await publisher.publish(
      config.AMQP_QUEUE,
      { user_id: 'offline-user', message: { keep: ['me'] } },
      { correlationId: taskId, contentType: 'application/json' },
    );
    const result = JSON.parse((await finished(taskId)).result as string);
    expect(result).toMatchObject({ group: 'Notifications_offline-user' });
    const stored = await withDatabase(
      async (db) =>
        (await db.query('SELECT id, user_id, message FROM notification_inbox WHERE task_id = $1', [taskId])).rows,
    );
    expect(stored).toEqual([
      { id: String(result.notification_id), user_id: 'offline-user', message: { keep: ['me'] } },
    ]);
  });

  it('stores and publishes a redelivered task once: same notification, one row', async () => {
    const taskId = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, { user_id: 42, message: 'first' }, { messageId: taskId });
    const first = JSON.parse((await finished(taskId)).result as string);
    await publisher.publish(config.AMQP_QUEUE, { user_id: 42, message: 'first' }, { messageId: taskId });
    await eventually(() => (frames.filter((f) => f.frame.task_id === taskId).length === 2 ? true : undefined));
    const counts = await withDatabase(async (db) => ({
      results: (
        await db.query('SELECT count(*)::int AS n FROM django_celery_results_taskresult WHERE task_id = $1', [taskId])
      ).rows[0].n,
      notifications: (await db.query('SELECT count(*)::int AS n FROM notification_inbox WHERE task_id = $1', [taskId]))
        .rows[0].n,
    }));
    expect(counts).toEqual({ results: 1, notifications: 1 });
    // Published again with the same id: a client that saw it drops it.
    expect(new Set(frames.filter((f) => f.frame.task_id === taskId).map((f) => f.frame.id))).toEqual(
      new Set([first.notification_id]),
    );
  });

  it('dead-letters a different message under a task id already taken (task_id_conflict), delivering and rewriting nothing', async () => {
    await gateway.subscribe('Notifications_43');
    const taskId = randomUUID();
    await publisher.publish(
      config.AMQP_QUEUE,
      { user_id: 42, message: { secret: 'for 42 only' } },
      { messageId: taskId },
    );
    const before = await finished(taskId);
    await publisher.publish(config.AMQP_QUEUE, { user_id: 43, message: { text: 'for 43' } }, { messageId: taskId });
    const dead = await deadLetter((message) => message.properties.messageId === taskId);
    expect(dead.properties.headers).toMatchObject({ 'x-dead-letter-reason': 'task_id_conflict' });
    expect(JSON.parse(dead.content.toString())).toEqual({ user_id: 43, message: { text: 'for 43' } });
    expect(await taskRow(taskId)).toEqual(before);
    expect(frames.filter((f) => f.frame.task_id === taskId).map((f) => f.group)).toEqual(['Notifications_42']);
    const metrics = await (await fetch(`${worker.httpUrl()}/metrics`)).text();
    expect(metrics).toMatch(/^notify_task_id_conflicts_total\{service="worker"\} [1-9]/m);
  });

  it('keeps a stored task SUCCESS, and publishes it again, when it is redelivered after its expires passed', async () => {
    const taskId = randomUUID();
    const message = {
      body: [[42, 'expiring'], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
      properties: {
        contentType: 'application/json',
        correlationId: taskId,
        headers: {
          lang: 'py',
          task: 'notifications.tasks.send_notification_task',
          id: taskId,
          eta: null,
          expires: new Date(Date.now() + 1000).toISOString(),
        },
      },
    };
    await publisher.publish(config.AMQP_QUEUE, message.body, message.properties);
    const first = await finished(taskId);
    expect(first.status).toBe('SUCCESS');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The broker redelivers it (a worker died before its ack), now past its expires.
    await publisher.publish(config.AMQP_QUEUE, message.body, message.properties);
    await eventually(
      () => (frames.filter((f) => f.frame.task_id === taskId).length === 2 ? true : undefined),
      5000,
      'the second publish',
    );
    expect(await taskRow(taskId)).toMatchObject({ status: 'SUCCESS', result: first.result });
  });

  it.each([
    ['not JSON', 'this is not json', {}, 'DecodeError'],
    [
      'pickle',
      Buffer.from([0x80, 0x04, 0x95]).toString('latin1'),
      { contentType: 'application/x-python-serialize' },
      'ContentDisallowed',
    ],
    ['no user_id', { message: 'hi' }, {}, 'TypeError'],
    ['a wrong user_id type', { user_id: [1], message: 'hi' }, {}, 'TypeError'],
    ['an unknown pattern', { pattern: 'drop_tables', data: { user_id: 1, message: 'x' } }, {}, 'NotRegistered'],
  ])('records FAILURE for %s, acks it and keeps serving', async (_, body, properties, excType) => {
    const badId = randomUUID();
    const goodId = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, body, { messageId: badId, ...properties });
    await publisher.publish(config.AMQP_QUEUE, { user_id: 42, message: 'after' }, { messageId: goodId });
    const bad = await finished(badId);
    expect(bad.status).toBe('FAILURE');
    expect(JSON.parse(bad.result as string)).toMatchObject({ exc_type: excType, exc_message: [expect.any(String)] });
    expect(bad.traceback).toContain(excType);
    const dead = await deadLetter((message) => message.properties.messageId === badId);
    const published = Buffer.isBuffer(body)
      ? body
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    expect(dead.content.equals(published)).toBe(true);
    expect(dead.properties.headers).toMatchObject({
      'x-dead-letter-reason': `${excType}: ${JSON.parse(bad.result as string).exc_message[0]}`,
      'x-original-queue': config.AMQP_QUEUE,
    });
    expect((await finished(goodId)).status).toBe('SUCCESS');
    expect(frames.some((f) => f.frame.task_id === badId)).toBe(false);
  });

  it('reports tasks by status, durations and queue depth on /metrics', async () => {
    const text = await (await fetch(`${worker.httpUrl()}/metrics`)).text();
    expect(text).toMatch(/^notify_tasks_total\{status="SUCCESS",service="worker"\} [1-9]/m);
    expect(text).toMatch(/^notify_tasks_total\{status="FAILURE",service="worker"\} [1-9]/m);
    expect(text).toMatch(/^notify_task_duration_seconds_count\{service="worker"\} [1-9]/m);
    expect(text).toMatch(/^notify_amqp_queue_depth\{service="worker"\} \d+/m);
    expect(text).toMatch(/^notify_dead_lettered_total\{service="worker"\} [1-9]/m);
  });

  it('gives a failed message with no id a row of its own', async () => {
    const before = await withDatabase(async (db) =>
      Number(
        (await db.query("SELECT count(*) FROM django_celery_results_taskresult WHERE status = 'FAILURE'")).rows[0]
          .count,
      ),
    );
    const body = `{"user_id": "${randomUUID()}"`;
    await publisher.publish(config.AMQP_QUEUE, body);
    const dead = await deadLetter((message) => message.content.toString() === body);
    expect(dead.properties.headers).toMatchObject({
      'x-dead-letter-reason': `DecodeError: Body is not valid JSON: error at position ${body.length}`,
    });
    await eventually(async () => {
      const after = await withDatabase(async (db) =>
        Number(
          (await db.query("SELECT count(*) FROM django_celery_results_taskresult WHERE status = 'FAILURE'")).rows[0]
            .count,
        ),
      );
      return after === before + 1 ? true : undefined;
    });
  });

  it('keeps a body that is not JSON out of every log line above debug, and out of its FAILURE row', async () => {
    const levels = ['log', 'warn', 'error', 'fatal', 'verbose'] as const;
    const spies = levels.map((level) => jest.spyOn(Logger.prototype, level));
    const debug = jest.spyOn(Logger.prototype, 'debug');
    try {
      const plainId = randomUUID();
      const patternId = randomUUID();
      await publisher.publish(config.AMQP_QUEUE, 'secret body, not JSON', { messageId: plainId });
      await publisher.publish(
        config.AMQP_QUEUE,
        { pattern: 'my secret pattern', data: {} },
        { messageId: patternId, contentType: 'application/json' },
      );
      expect(await finished(plainId)).toMatchObject({ status: 'FAILURE' });
      expect(JSON.stringify(await taskRow(plainId))).not.toContain('secret');
      expect((await finished(patternId)).result).toContain('my secret pattern');
      const logged = JSON.stringify(spies.flatMap((spy) => spy.mock.calls));
      expect(logged).toContain(plainId);
      expect(logged).toContain(patternId);
      expect(logged).not.toContain('secret');
      expect(JSON.stringify(debug.mock.calls)).toContain('my secret pattern');
    } finally {
      [...spies, debug].forEach((spy) => spy.mockRestore());
    }
  });

  it('retries while Postgres is unreachable and loses nothing: acked only after the commit', async () => {
    const { proxy, url } = await TcpProxy.start(config.DATABASE_URL, 5432);
    const cutConfig = { ...config, DATABASE_URL: url, AMQP_QUEUE: `${config.AMQP_QUEUE}_cut` };
    const cutWorker = await createWorker(cutConfig);
    await cutWorker.listen();
    const taskId = randomUUID();
    try {
      await proxy.cut();
      await publisher.publish(cutConfig.AMQP_QUEUE, { user_id: 42, message: 'survives' }, { messageId: taskId });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await taskRow(taskId)).toBeUndefined();
      await proxy.restore();
      const row = await eventually(() => taskRow(taskId), 20_000, 'the row once Postgres is back');
      expect(row.status).toBe('SUCCESS');
    } finally {
      await proxy.restore();
      await cutWorker.close();
      await proxy.cut();
      await publisher.deleteQueue(cutConfig.AMQP_QUEUE);
      await publisher.deleteQueue(deadLetterQueueOf(cutConfig.AMQP_QUEUE));
    }
  });

  it('on close, finishes what it holds and leaves the rest on the queue', async () => {
    const ids = Array.from({ length: 40 }, () => randomUUID());
    for (const id of ids) await publisher.publish(config.AMQP_QUEUE, { user_id: 7, message: id }, { messageId: id });
    await worker.close();
    const recorded = await withDatabase(
      async (db) =>
        (await db.query('SELECT task_id FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [ids]))
          .rowCount ?? 0,
    );
    const waiting = await publisher.messageCount(config.AMQP_QUEUE);
    expect(recorded + waiting).toBe(ids.length);
    worker = await createWorker(config);
    await worker.listen();
    await eventually(async () => ((await publisher.messageCount(config.AMQP_QUEUE)) === 0 ? true : undefined));
    for (const id of ids) expect((await finished(id)).status).toBe('SUCCESS');
  });
});

describe('worker holding Celery eta tasks (prefetch 1)', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let publisher: TestPublisher;

  beforeAll(async () => {
    ({ config, publisher, worker } = await startWorker({
      AMQP_PREFETCH: '1',
      CELERY_TRACK_STARTED: 'true',
      DEFERRED_TASK_HOLD_SECONDS: '120',
    }));
  });

  afterAll(() => stopWorker(config, publisher, worker));

  it('serves the messages behind an eta task while it waits, and records STARTED on the way', async () => {
    const later = randomUUID();
    const now = randomUUID();
    const { body, properties } = celeryTask(later, new Date(Date.now() + 1500));
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await publisher.publish(config.AMQP_QUEUE, { user_id: 9, message: 'now' }, { messageId: now });
    const nowRow = await eventually(() => taskRow(now), 1000, 'the task behind the eta task');
    expect(await taskRow(later)).toBeUndefined();
    const laterRow = await eventually(async () => {
      const row = await taskRow(later);
      return row?.status === 'SUCCESS' ? row : undefined;
    }, 5000);
    expect(laterRow.status).toBe('SUCCESS');
    // date_started is only ever written by a STARTED row (CELERY_TRACK_STARTED=true).
    expect(laterRow.date_started).toBeInstanceOf(Date);
    expect(nowRow.date_started).toBeInstanceOf(Date);
  });

  it('on close, puts a waiting eta task back on the queue at once', async () => {
    const taskId = randomUUID();
    const { body, properties } = celeryTask(taskId, new Date(Date.now() + 60_000));
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await publisher.messageCount(config.AMQP_QUEUE)).toBe(1);
    expect(await taskRow(taskId)).toBeUndefined();
    worker = await createWorker(config);
  });
});

describe('worker dead-lettering and inbox retention', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let publisher: TestPublisher;

  beforeAll(async () => {
    ({ config, publisher, worker } = await startWorker({ TASK_MAX_ATTEMPTS: '2', NOTIFICATION_RETENTION_DAYS: '30' }));
  });

  afterAll(() => stopWorker(config, publisher, worker));

  it('dead-letters a message the database keeps refusing after TASK_MAX_ATTEMPTS, counted in the message itself, and serves the rest', async () => {
    const poison = `poison-${randomUUID()}`;
    const goodId = randomUUID();
    // The database refuses this one task's notification, every time, whichever worker asks.
    await withDatabase((db) =>
      db.query(`
        CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.task_id = '${poison}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse_poison BEFORE INSERT ON notification_inbox FOR EACH ROW EXECUTE FUNCTION refuse_poison();`),
    );
    try {
      await publisher.publish(
        config.AMQP_QUEUE,
        { user_id: 5, message: 'x' },
        { messageId: poison, expiration: '60000', headers: { keep: 'me' } },
      );
      await publisher.publish(config.AMQP_QUEUE, { user_id: 5, message: 'fine' }, { messageId: goodId });
      expect((await eventually(() => taskRow(goodId))).status).toBe('SUCCESS');
      await eventually(
        async () => ((await publisher.messageCount(deadLetterQueueOf(config.AMQP_QUEUE))) === 1 ? true : undefined),
        10_000,
      );
      const dead = await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE));
      if (!dead) throw new Error('the dead-letter queue is empty');
      expect(dead.properties.messageId).toBe(poison);
      expect(dead.properties.headers).toMatchObject({
        keep: 'me',
        'x-notify-attempts': 1,
        'x-dead-letter-reason': expect.stringContaining('refused for the test'),
      });
      // A per-message TTL would let the dead letter expire unseen.
      expect(dead.properties.expiration).toBeUndefined();
      expect(await taskRow(poison)).toMatchObject({
        status: 'FAILURE',
        result: expect.stringContaining('refused for the test'),
      });
      expect(await publisher.messageCount(config.AMQP_QUEUE)).toBe(0);
    } finally {
      await withDatabase((db) =>
        db.query('DROP TRIGGER refuse_poison ON notification_inbox; DROP FUNCTION refuse_poison()'),
      );
    }
  });

  it('keeps inbox partitions open ahead of the ids to come, and drops none that holds a row newer than NOTIFICATION_RETENTION_DAYS', async () => {
    const user = `retention-${randomUUID().slice(0, 8)}`;
    await storeNotification(user, 'old', { createdAt: new Date(Date.now() - 31 * 86400_000) });
    const recent = await storeNotification(user, 'new', { createdAt: new Date(Date.now() - 29 * 86400_000) });
    expect(await worker.get(InboxPartitionMaintainer).runOnce()).not.toBeNull();
    const [{ ahead }] = await withDatabase(
      async (db) =>
        (
          await db.query(
            `SELECT count(*)::int AS ahead FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'notification_inbox'::regclass
                AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''(\\d+)')::bigint > $1`,
            [recent.id],
          )
        ).rows,
    );
    expect(ahead).toBeGreaterThanOrEqual(2);
    // Retention drops whole partitions (its own spec): these rows share the partition ids go to now.
    const left = await withDatabase(
      async (db) =>
        (await db.query('SELECT message FROM notification_inbox WHERE user_id = $1 ORDER BY id', [user])).rows,
    );
    expect(left).toEqual([{ message: 'old' }, { message: 'new' }]);
  });

  it('requeues, instead of dead-lettering, a task whose id no partition holds yet, and stores it once one does', async () => {
    await withDatabase((db) =>
      db.query(
        `SELECT setval(pg_get_serial_sequence('notification_inbox', 'id'), max(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''(\\d+)')::bigint))
           FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = 'notification_inbox'::regclass`,
      ),
    );
    const taskId = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, { user_id: 'beyond-partitions', message: 'x' }, { messageId: taskId });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // two attempts (TASK_MAX_ATTEMPTS) and more
    expect(await taskRow(taskId)).toBeUndefined();
    expect(await worker.get(InboxPartitionMaintainer).runOnce()).not.toBeNull();
    const row = await eventually(
      async () => ((await taskRow(taskId))?.status === 'SUCCESS' ? true : undefined),
      15_000,
    );
    expect(row).toBe(true);
  });
});

describe('worker on a quorum queue (AMQP_QUEUE_TYPE=quorum, prefetch 1)', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  const finished = (taskId: string) =>
    eventually(
      async () => ((await taskRow(taskId))?.status === 'SUCCESS' ? taskRow(taskId) : undefined),
      10_000,
      `SUCCESS of ${taskId}`,
    );
  const queueEmpty = () =>
    eventually(
      async () => ((await publisher.messageCount(config.AMQP_QUEUE)) === 0 ? true : undefined),
      10_000,
      'an empty queue',
    );

  beforeAll(async () => {
    ({ config, publisher, worker } = await startWorker({
      AMQP_QUEUE_TYPE: 'quorum',
      AMQP_PREFETCH: '1',
      WORKER_NAME: 'celery@quorum',
      DEFERRED_TASK_HOLD_SECONDS: '120',
    }));
  });

  afterAll(() => stopWorker(config, publisher, worker));

  it('declares the queue and its dead-letter queue as quorum queues', async () => {
    for (const queue of [config.AMQP_QUEUE, deadLetterQueueOf(config.AMQP_QUEUE)]) {
      expect(await redeclareAccepted(queue, 'quorum')).toBe(true);
      expect(await redeclareAccepted(queue, 'classic')).toBe(false);
    }
  });

  it('is why the worker uses per-consumer QoS there: RabbitMQ closes the connection of a global-QoS consumer', async () => {
    const connection = await amqp.connect(config.AMQP_URL);
    const closed = new Promise<Error>((resolve) => connection.on('error', resolve));
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.prefetch(1, true);
    await channel.consume(config.AMQP_QUEUE, () => undefined).catch(() => undefined);
    expect((await closed).message).toMatch(/540.*does not support global qos/i);
  });

  it('processes and acks notifications, from the publisher lib too', async () => {
    const ids: string[] = Array.from({ length: 5 }, () => randomUUID());
    for (const id of ids) await publisher.publish(config.AMQP_QUEUE, { user_id: 3, message: id }, { messageId: id });
    const lib = new NotificationPublisher({ url: config.AMQP_URL, queue: config.AMQP_QUEUE, queueType: 'quorum' });
    try {
      ids.push(await lib.publish({ userId: 3, message: 'from the lib' }));
    } finally {
      await lib.close();
    }
    for (const id of ids) expect(await finished(id)).toMatchObject({ status: 'SUCCESS', worker: 'celery@quorum' });
    await queueEmpty();
  });

  it('dead-letters what it cannot process', async () => {
    const badId = randomUUID();
    await publisher.publish(config.AMQP_QUEUE, 'not json', { messageId: badId });
    expect((await eventually(() => taskRow(badId))).status).toBe('FAILURE');
    const dead = await eventually(
      async () => (await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE))) || undefined,
      5000,
      'the dead letter',
    );
    expect(dead.properties.messageId).toBe(badId);
    expect(dead.content.toString()).toBe('not json');
    expect(dead.properties.headers).toMatchObject({
      'x-dead-letter-reason': 'DecodeError: Body is not valid JSON',
      'x-original-queue': config.AMQP_QUEUE,
    });
    await queueEmpty();
  });

  it('holds two eta tasks without starving the window: the tasks behind them run first, they run at their time', async () => {
    const [firstEta, secondEta] = [randomUUID(), randomUUID()];
    const due = new Date(Date.now() + 2000);
    for (const id of [firstEta, secondEta]) {
      const { body, properties } = celeryTask(id, due);
      await publisher.publish(config.AMQP_QUEUE, body, properties);
    }
    const now = Array.from({ length: 10 }, () => randomUUID());
    for (const id of now) await publisher.publish(config.AMQP_QUEUE, { user_id: 9, message: id }, { messageId: id });
    for (const id of now) await eventually(() => taskRow(id), 1500, `the task ${id} behind the eta tasks`);
    expect(await taskRow(firstEta)).toBeUndefined();
    expect(await taskRow(secondEta)).toBeUndefined();
    for (const id of [firstEta, secondEta]) {
      const row = await finished(id);
      expect((row.date_done as Date).getTime()).toBeGreaterThanOrEqual(due.getTime() - 50);
    }
    await queueEmpty();
  });

  it('on close, finishes what it holds, puts a waiting eta task back and leaves the rest on the queue', async () => {
    const eta = randomUUID();
    const { body, properties } = celeryTask(eta, new Date(Date.now() + 60_000));
    await publisher.publish(config.AMQP_QUEUE, body, properties);
    const ids = Array.from({ length: 30 }, () => randomUUID());
    for (const id of ids) await publisher.publish(config.AMQP_QUEUE, { user_id: 7, message: id }, { messageId: id });
    const started = Date.now();
    await worker.close();
    expect(Date.now() - started).toBeLessThan(5000);
    const recorded = await withDatabase(
      async (db) =>
        (await db.query('SELECT task_id FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [ids]))
          .rowCount ?? 0,
    );
    // Settled by the closed channel: ready on the queue again once the broker has requeued them.
    await eventually(
      async () => (recorded + (await publisher.messageCount(config.AMQP_QUEUE)) === ids.length + 1 ? true : undefined),
      5000,
      'every message recorded or back',
    );
    expect(await taskRow(eta)).toBeUndefined();
    worker = await createWorker(config);
    await worker.listen();
    for (const id of ids) await finished(id);
  });
});

/** A Celery protocol 2 task for user 9, due at `eta`. */
function celeryTask(taskId: string, eta: Date | null) {
  return {
    body: [[9, `eta ${taskId}`], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: taskId,
      headers: {
        lang: 'py',
        task: 'notifications.tasks.send_notification_task',
        id: taskId,
        eta: eta?.toISOString() ?? null,
        expires: null,
        argsrepr: '(9,)',
        kwargsrepr: '{}',
      },
    },
  };
}

/** A worker on a queue of its own, and a publisher to it. */
async function startWorker(
  overrides: Record<string, string>,
): Promise<{ config: AppConfig; publisher: TestPublisher; worker: WorkerApp }> {
  const config = testConfig(overrides);
  const publisher = await TestPublisher.connect(config.AMQP_URL);
  const worker = await createWorker(config);
  await worker.listen();
  return { config, publisher, worker };
}

async function stopWorker(config: AppConfig, publisher: TestPublisher, worker: WorkerApp | undefined): Promise<void> {
  await worker?.close();
  await publisher.deleteQueue(config.AMQP_QUEUE);
  await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
  await publisher.close();
}
