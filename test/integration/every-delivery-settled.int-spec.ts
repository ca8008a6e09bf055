import { deadLetterQueueOf } from '@app/publishing';
import type { Options } from 'amqplib';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TestPublisher, eventually, testConfig, withDatabase } from '@test/support/test-context';

const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

/**
 * Header values amqplib can encode: what a publisher, careful or not, may put there. A table with
 * a `!` key is amqplib's notation for an explicitly typed value, which it refuses to send unless
 * the type is one it knows, so no publisher can put one on the wire.
 */
const headerValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(
    fc.string({ maxLength: 8 }).filter((key) => key !== '!'),
    fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
    { maxKeys: 3 },
  ),
);

const userId = fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom('alice', 'b.o-b_2'), fc.jsonValue({ maxDepth: 1 }));

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** A body as text, good or bad in every way the formats allow. */
const body = (format: 'plain' | 'nest' | 'celery'): fc.Arbitrary<string> =>
  fc.oneof(
    fc.record({ user: userId, message: fc.jsonValue({ maxDepth: 3 }) }).map(({ user, message }) => {
      if (format === 'celery') return JSON.stringify([[user, message], {}, EMBED]);
      const data = { user_id: user, message };
      return JSON.stringify(format === 'nest' ? { pattern: 'send_notification', data } : data);
    }),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    fc
      .integer({ min: 60, max: 9000 })
      .map((depth) =>
        format === 'celery' ? `[[1, ${nested(depth)}], {}, {}]` : `{"user_id": 1, "message": ${nested(depth)}}`,
      ),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.string({ maxLength: 60, unit: 'binary' }),
    fc.constant('x'.repeat(70_000)),
  );

/** Celery's eta and expires: absent, garbage, past, or due within a second (later ones are stored, not run). */
const celeryDate = fc.oneof(
  fc.constant(null),
  fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.string({ maxLength: 20 }).map((text) => `not a date ${text}`),
    fc.array(fc.integer(), { maxLength: 2 }),
  ),
  fc.integer({ min: -86_400_000, max: 800 }).map((offset) => new Date(Date.now() + offset).toISOString()),
);

interface Delivery {
  taskId: string;
  content: Buffer;
  properties: Options.Publish;
}

const delivery: fc.Arbitrary<Omit<Delivery, 'taskId'> & { celery: boolean }> = fc
  .record({
    format: fc.constantFrom('plain' as const, 'nest' as const, 'celery' as const),
    // Not `task` and `id`: those make a message a Celery one, with its task id in `id`.
    headers: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((key) => key !== 'task' && key !== 'id'),
      headerValue,
      { maxKeys: 4 },
    ),
    contentType: fc.option(
      fc.constantFrom(
        'application/json',
        'text/json',
        'application/x-python-serialize',
        'text/plain',
        'APPLICATION/JSON',
      ),
      { nil: undefined },
    ),
    eta: celeryDate,
    expires: celeryDate,
    task: fc.oneof(
      fc.constant('notifications.tasks.send_notification_task'),
      fc.string({ maxLength: 30, unit: 'binary' }),
    ),
  })
  .chain((shape) => body(shape.format).map((text) => ({ ...shape, text })))
  .map(({ format, headers, contentType, eta, expires, task, text }) => ({
    celery: format === 'celery',
    content: Buffer.from(text, 'utf8'),
    properties: {
      contentType,
      headers: format === 'celery' ? { ...headers, task, eta, expires, argsrepr: '(...)', kwargsrepr: '{}' } : headers,
    },
  }));

/**
 * Random and adversarial bodies and headers, in every format, at the real consumer: every
 * delivery must end settled, each task with exactly one terminal result row, the queue empty and
 * nothing held unacknowledged. (A body nested 9,000 levels deep used to overflow the stack outside
 * the consumer's try and stay unacknowledged for good.)
 */
describe('every delivery is settled (property, real RabbitMQ, Postgres and Redis)', () => {
  const config = testConfig({ TASK_MAX_ATTEMPTS: '2', AMQP_PREFETCH: '50', MAX_MESSAGE_BYTES: '65536' });
  let worker: WorkerApp;
  let publisher: TestPublisher;

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    worker = await createWorker(config);
    await worker.listen();
  });

  afterAll(async () => {
    await worker?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  const unacked = async () => {
    const metrics = await (await fetch(`${worker.httpUrl()}/metrics`)).text();
    return Number(/^notify_amqp_unacked\{[^}]*\} (\d+)/m.exec(metrics)?.[1]);
  };

  it('acks, requeues or dead-letters every message, with exactly one terminal row per task', async () => {
    const allTaskIds: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 15 }), async (generated) => {
        const deliveries: Delivery[] = generated.map(({ celery, content, properties }) => {
          const taskId = randomUUID();
          // Each message carries a unique, valid task id where its format reads one first.
          const withId = celery
            ? { ...properties, headers: { ...properties.headers, id: taskId } }
            : { ...properties, messageId: taskId };
          return { taskId, content, properties: withId };
        });
        for (const { content, properties } of deliveries)
          await publisher.publish(config.AMQP_QUEUE, content, properties);
        const taskIds = deliveries.map((message) => message.taskId);
        allTaskIds.push(...taskIds);
        const rows = await eventually(
          async () => {
            const { rows: found } = await withDatabase((db) =>
              db.query('SELECT task_id, status FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [
                taskIds,
              ]),
            );
            return found.length === taskIds.length && found.every((row) => TERMINAL.has(row.status))
              ? found
              : undefined;
          },
          20_000,
          'a terminal row for every task',
        );
        expect(rows.map((row) => row.task_id).sort()).toEqual([...taskIds].sort());
        await eventually(
          async () =>
            (await publisher.messageCount(config.AMQP_QUEUE)) === 0 && (await unacked()) === 0 ? true : undefined,
          10_000,
          'an empty queue and nothing unacked',
        );
      }),
      { numRuns: 12 },
    );
    // Every FAILURE went to the dead-letter queue, and nothing else did.
    const failures = await withDatabase(
      async (db) =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM django_celery_results_taskresult WHERE status = 'FAILURE' AND task_id = ANY($1)`,
            [allTaskIds],
          )
        ).rows[0].n,
    );
    expect(await publisher.messageCount(deadLetterQueueOf(config.AMQP_QUEUE))).toBe(failures);
  }, 300_000);
});
