import type { INestApplication } from '@nestjs/common';
import { deadLetterQueueOf } from '@app/publishing';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import { TestPublisher, TestSocket, eventually, signToken, testConfig, withDatabase } from '@test/support/test-context';

/** Every way a publisher can give a task id. */
const ID_SOURCES = ['message_id', 'correlation_id', 'body task_id', 'nest', 'celery', 'publish API'] as const;
type IdSource = (typeof ID_SOURCES)[number];

/** Few messages, so that the same message under the same task id (a redelivery) comes up often. */
const MESSAGES = [{ secret: 'for its user only' }, { text: 'hello' }, 'plain', 42, null, [1, 2]];

interface Published {
  taskId: string;
  /** Its users: one given as `user_id`, or a `user_ids` list (`listed`). */
  users: string[];
  listed: boolean;
  message: unknown;
  via: IdSource;
}

const SERVICE_TOKEN = 'isolation-service-token-0123456789abcdef';

/**
 * Random sequences of (task id, users, message) through the real worker, each task id given in one
 * of the ways publishers give it, for one user (`user_id`) or a list (`user_ids`), with every
 * user's socket open on the real gateway: no socket may ever receive a notification that was not
 * published to its user, whatever the task ids reused.
 */
describe('task ids cannot carry one user’s notification to another (property, real services)', () => {
  const config = testConfig({ PUBLISH_API_TOKENS: SERVICE_TOKEN, TASK_MAX_ATTEMPTS: '1' });
  const users = ['iso-a', 'iso-b', 'iso-c', 'iso-d'].map((name) => `${name}-${randomUUID().slice(0, 6)}`);
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let base: string;
  const sockets = new Map<string, TestSocket>();

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    await publisher.declare(config.AMQP_QUEUE);
    [gateway, worker] = await Promise.all([createGateway(config), createWorker(config)]);
    await gateway.listen(0, '127.0.0.1');
    await worker.listen();
    base = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
    for (const user of users)
      sockets.set(
        user,
        await TestSocket.open(`${base.replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: user })}`),
      );
  });

  afterAll(async () => {
    await Promise.all([...sockets.values()].map((socket) => socket.close()));
    await worker?.close();
    await gateway?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  async function publish({ taskId, users: [user, ...more], listed, message, via }: Published): Promise<void> {
    const queue = config.AMQP_QUEUE;
    const recipients = listed ? { user_ids: [user, ...more] } : { user_id: user };
    switch (via) {
      case 'message_id':
        return publisher.publish(queue, { ...recipients, message }, { messageId: taskId });
      case 'correlation_id':
        return publisher.publish(queue, { ...recipients, message }, { correlationId: taskId });
      case 'body task_id':
        return publisher.publish(queue, { ...recipients, message, task_id: taskId });
      case 'nest':
        return publisher.publish(
          queue,
          { pattern: 'send_notification', data: { ...recipients, message } },
          { messageId: taskId },
        );
      // Celery's send_notification_task takes one user: a list goes as a plain body.
      case 'celery':
        if (listed) return publisher.publish(queue, { ...recipients, message }, { messageId: taskId });
        return publisher.publish(
          queue,
          [[user, message], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
          {
            contentType: 'application/json',
            correlationId: taskId,
            headers: {
              lang: 'py',
              task: 'notifications.tasks.send_notification_task',
              id: taskId,
              eta: null,
              expires: null,
              argsrepr: `('${user}', ...)`,
              kwargsrepr: '{}',
            },
          },
        );
      case 'publish API': {
        const response = await fetch(`${base}/api/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
          body: JSON.stringify({ ...recipients, message, task_id: taskId }),
        });
        if (response.status !== 202) throw new Error(`POST /api/publish answered ${response.status}`);
      }
    }
  }

  /** The users (in list order) and the message stored under each task id, once all of them are stored. */
  const storedUnder = (taskIds: string[]) =>
    withDatabase(async (db) => {
      const { rows } = await db.query(
        `SELECT task_id, array_agg(user_id ORDER BY id) AS users, min(message::text) AS message,
                count(DISTINCT message::text)::int AS messages
           FROM notification_inbox WHERE task_id = ANY($1) GROUP BY task_id`,
        [taskIds],
      );
      // One message per task id: its rows are one task's, never parts of two.
      for (const row of rows) expect(row.messages).toBe(1);
      return new Map(
        rows.map((row) => [
          row.task_id as string,
          { users: row.users as string[], messageJson: row.message as string },
        ]),
      );
    });
  // The same list is the same users in the same order.
  const sameUsers = (a: string[], b: string[]) => a.join() === b.join();

  it('delivers each notification to the user it was stored for, and dead-letters every other message under a taken id', async () => {
    let deadLettered = 0;
    const entry = fc.record({
      slot: fc.nat({ max: 3 }),
      // Few lists, so that the same list under the same task id comes up often too.
      users: fc.oneof(
        fc.constantFrom(...users).map((user) => [user]),
        fc.constantFrom(users.slice(0, 2), users.slice(1, 4), users),
        fc.shuffledSubarray(users, { minLength: 1 }),
      ),
      listed: fc.boolean(),
      message: fc.constantFrom(...MESSAGES),
      via: fc.constantFrom(...ID_SOURCES),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 10 }), async (entries) => {
        const run = randomUUID().slice(0, 8);
        const published: Published[] = entries.map(({ slot, ...rest }) => ({
          ...rest,
          // A list of several users goes as user_ids; one user as either.
          listed: rest.listed || rest.users.length > 1,
          taskId: `iso-${run}-${slot}`,
        }));
        for (const message of published) await publish(message);
        const taskIds = [...new Set(published.map((message) => message.taskId))];
        const stored = await eventually(
          async () => {
            const found = await storedUnder(taskIds);
            return found.size === taskIds.length ? found : undefined;
          },
          15_000,
          'every task id stored',
        );
        const conflicting = published.filter(({ taskId, users: to, message }) => {
          const winner = stored.get(taskId)!;
          return !sameUsers(winner.users, to) || winner.messageJson !== JSON.stringify(message);
        });
        deadLettered += conflicting.length;
        await eventually(
          async () =>
            (await publisher.messageCount(deadLetterQueueOf(config.AMQP_QUEUE))) === deadLettered ? true : undefined,
          15_000,
          `${deadLettered} dead letters`,
        );
        const receivedIn = (socket: TestSocket) =>
          socket.framesOf('notification').filter((frame) => String(frame.task_id).startsWith(`iso-${run}-`));
        const owedTo = (user: string) =>
          [...stored].filter(([, winner]) => winner.users.includes(user)).map(([taskId]) => taskId);
        await eventually(
          () =>
            [...sockets].every(([user, socket]) => receivedIn(socket).length >= owedTo(user).length) ? true : undefined,
          10_000,
          'every socket served',
        );
        await new Promise((resolve) => setTimeout(resolve, 100));

        for (const [taskId, winner] of stored) {
          // What is stored under a task id was published under it, for those users.
          expect(
            published.some(
              (message) =>
                message.taskId === taskId &&
                sameUsers(message.users, winner.users) &&
                JSON.stringify(message.message) === winner.messageJson,
            ),
          ).toBe(true);
        }
        for (const [user, socket] of sockets) {
          const received = receivedIn(socket);
          for (const frame of received) {
            expect(
              published.some(
                (message) =>
                  message.taskId === frame.task_id &&
                  message.users.includes(user) &&
                  JSON.stringify(message.message) === JSON.stringify(frame.message),
              ),
            ).toBe(true);
          }
          // Every notification stored for this user reached this socket, once.
          expect(received.map((frame) => frame.task_id).sort()).toEqual(owedTo(user).sort());
        }
      }),
      { numRuns: 20 },
    );
  }, 240_000);
});
