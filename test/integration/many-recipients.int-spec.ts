import type { INestApplication } from '@nestjs/common';
import { deadLetterQueueOf } from '@app/publishing';
import type * as amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../../apps/gateway/src/gateway.factory';
import { createWorker } from '../../apps/worker/src/worker.factory';
import type { WorkerApp } from '../../apps/worker/src/worker.factory';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  taskRow,
  testConfig,
  withDatabase,
} from '@test/support/test-context';

/**
 * One task for a list of users (`user_ids`) through the real worker and gateway, on the real
 * RabbitMQ, Postgres and Redis, with the users' sockets open: each listed user's sockets get that
 * user's copy, with that user's seq, and nobody else gets anything. The worker takes one message
 * at a time (prefetch 1), so a marker task published after a message tells when that one is done.
 */
describe('one task for many users (real gateway, worker and services)', () => {
  const config = testConfig({ AMQP_PREFETCH: '1', MAX_RECIPIENTS: '50', TASK_MAX_ATTEMPTS: '1' });
  const run = randomUUID().slice(0, 8);
  const users = Array.from({ length: 25 }, (_, i) => `many-${i}-${run}`);
  const bystander = `bystander-${run}`;
  let gateway: INestApplication;
  let worker: WorkerApp;
  let publisher: TestPublisher;
  let wsBase: string;
  /** Sockets of the first 10 users (two for users[0]) and of a bystander who is on no list. */
  const sockets = new Map<string, TestSocket[]>();
  const allSockets = () => [...sockets.values()].flat();

  beforeAll(async () => {
    publisher = await TestPublisher.connect(config.AMQP_URL);
    await publisher.declare(config.AMQP_QUEUE);
    [gateway, worker] = await Promise.all([createGateway(config), createWorker(config)]);
    await gateway.listen(0, '127.0.0.1');
    await worker.listen();
    wsBase = `ws://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}/ws/notifications/`;
    const open = (user: string) => TestSocket.open(`${wsBase}?token=${signToken({ user_id: user })}`);
    for (const user of [...users.slice(0, 10), bystander]) sockets.set(user, [await open(user)]);
    sockets.get(users[0])!.push(await open(users[0]));
  });

  afterAll(async () => {
    await Promise.all(allSockets().map((socket) => socket.close()));
    await worker?.close();
    await gateway?.close();
    await publisher.deleteQueue(config.AMQP_QUEUE);
    await publisher.deleteQueue(deadLetterQueueOf(config.AMQP_QUEUE));
    await publisher.close();
  });

  const finished = (taskId: string) => eventually(() => taskRow(taskId), 10_000, `the row of ${taskId}`);
  const framesOf = (socket: TestSocket, taskId: string) =>
    socket.framesOf('notification').filter((frame) => frame.task_id === taskId);
  const inboxRows = (taskId: string) =>
    withDatabase(
      async (db) =>
        (
          await db.query(
            'SELECT id::text, user_id, seq::int, message::text AS message FROM notification_inbox WHERE task_id = $1 ORDER BY notification_inbox.id',
            [taskId],
          )
        ).rows as Array<{ id: string; user_id: string; seq: number; message: string }>,
    );
  /** Publishes a task to users[0] after what was published before, and waits for its frame: all before it is done. */
  const allDone = async () => {
    const marker = `marker-${randomUUID()}`;
    await publisher.publish(config.AMQP_QUEUE, { user_id: users[0], message: 'marker' }, { messageId: marker });
    await eventually(() => (framesOf(sockets.get(users[0])![0], marker).length ? true : undefined), 10_000, marker);
    // Frames of what came before reach a socket before the marker's; a little slack for the others.
    await new Promise((resolve) => setTimeout(resolve, 100));
  };
  const deadLetter = (taskId: string) =>
    eventually(
      async () => {
        for (;;) {
          const message: amqp.GetMessage | false = await publisher.get(deadLetterQueueOf(config.AMQP_QUEUE));
          if (!message) return undefined;
          if (message.properties.messageId === taskId) return message;
        }
      },
      10_000,
      `the dead letter of ${taskId}`,
    );

  const listTaskId = `list-${run}`;
  const message = { text: 'to all of you', n: 1 };

  it("delivers the task's copy to each listed user's sockets, with that user's seq, and to nobody else", async () => {
    // users[1] had one notification already: its copy is its seq 2, everyone else's their seq 1.
    await publisher.publish(
      config.AMQP_QUEUE,
      { user_id: users[1], message: 'before' },
      { messageId: `before-${run}` },
    );
    await finished(`before-${run}`);
    await publisher.publish(config.AMQP_QUEUE, { user_ids: users, message }, { messageId: listTaskId });

    const row = await finished(listTaskId);
    expect(row).toMatchObject({ status: 'SUCCESS', task_name: 'send_notification' });
    expect(JSON.parse(row.result as string)).toEqual({
      count: 25,
      groups: users.slice(0, 10).map((user) => `Notifications_${user}`),
      more: 15,
    });
    expect(JSON.parse(row.task_kwargs as string)).toEqual({ user_ids: users, message });

    const rows = await inboxRows(listTaskId);
    expect(rows.map((r) => r.user_id)).toEqual(users);
    expect(rows.map((r) => r.seq)).toEqual(users.map((_, i) => (i === 1 ? 2 : 1)));
    expect(new Set(rows.map((r) => r.message))).toEqual(new Set([JSON.stringify(message)]));

    await eventually(
      () =>
        users.slice(0, 10).every((user) => sockets.get(user)!.every((s) => framesOf(s, listTaskId).length))
          ? true
          : undefined,
      10_000,
      'every listed socket served',
    );
    await allDone();
    for (const [user, userSockets] of sockets) {
      const own = rows.find((r) => r.user_id === user);
      for (const socket of userSockets) {
        const received = framesOf(socket, listTaskId);
        if (!own) {
          expect(received).toEqual([]);
          continue;
        }
        expect(received).toEqual([
          {
            event: 'notification',
            type: 'notification',
            id: Number(own.id),
            seq: own.seq,
            task_id: listTaskId,
            created_at: expect.any(String),
            message,
          },
        ]);
      }
    }
  });

  it('stores and sends nothing twice when the same task is delivered again', async () => {
    const rowsBefore = await inboxRows(listTaskId);
    const resultBefore = (await taskRow(listTaskId))!.result;
    await publisher.publish(config.AMQP_QUEUE, { user_ids: users, message }, { messageId: listTaskId });
    await allDone();
    expect(await inboxRows(listTaskId)).toEqual(rowsBefore);
    expect((await taskRow(listTaskId))!.result).toBe(resultBefore);
    for (const socket of allSockets()) expect(framesOf(socket, listTaskId).length).toBeLessThanOrEqual(1);
    expect(await publisher.messageCount(deadLetterQueueOf(config.AMQP_QUEUE))).toBe(0);
  });

  it.each([
    ['one user fewer', () => users.slice(1)],
    ['the bystander added', () => [...users, bystander]],
    ['one user swapped for the bystander', () => [bystander, ...users.slice(1)]],
    ['the same users in another order', () => [...users].reverse()],
  ])(
    'dead-letters the task id with %s as task_id_conflict, delivering nothing and changing no row',
    async (_, list) => {
      const rowsBefore = await inboxRows(listTaskId);
      const resultBefore = await taskRow(listTaskId);
      await publisher.publish(config.AMQP_QUEUE, { user_ids: list(), message }, { messageId: listTaskId });
      const dead = await deadLetter(listTaskId);
      expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('task_id_conflict');
      await allDone();
      expect(await inboxRows(listTaskId)).toEqual(rowsBefore);
      expect(await taskRow(listTaskId)).toEqual(resultBefore);
      for (const socket of allSockets()) expect(framesOf(socket, listTaskId).length).toBeLessThanOrEqual(1);
      expect(framesOf(sockets.get(bystander)![0], listTaskId)).toEqual([]);
    },
  );

  it.each([
    ['a user twice', [users[0], users[1], users[0]], 'user_ids[2] repeats user'],
    ['too many users', Array.from({ length: 51 }, (_, i) => `too-many-${i}`), 'user_ids lists 51 users; at most 50'],
    ['an empty list', [], 'user_ids must not be empty'],
    ['nested garbage', [[users[0]], { user: users[1] }], 'user_ids[0] must be'],
  ])(
    'records a list with %s as FAILURE with the reason, delivers nothing, and serves the next task',
    async (_, list, reason) => {
      const taskId = `bad-list-${randomUUID()}`;
      await publisher.publish(config.AMQP_QUEUE, { user_ids: list, message: 'never' }, { messageId: taskId });
      const row = await finished(taskId);
      expect(row).toMatchObject({ status: 'FAILURE' });
      expect(JSON.parse(row.result as string)).toMatchObject({
        exc_type: 'TypeError',
        exc_message: [expect.stringContaining(reason)],
      });
      const dead = await deadLetter(taskId);
      expect(String(dead.properties.headers?.['x-dead-letter-reason'])).toContain(reason);
      await allDone();
      expect(await inboxRows(taskId)).toEqual([]);
      for (const socket of allSockets()) expect(framesOf(socket, taskId)).toEqual([]);
    },
  );

  it('gives a user who was away the copy on resume, from the position it last saw', async () => {
    const away = users[20];
    const taskId = `resume-${run}`;
    await publisher.publish(
      config.AMQP_QUEUE,
      { user_ids: [users[0], away], message: 'catch up' },
      { messageId: taskId },
    );
    await finished(taskId);
    const socket = await TestSocket.open(`${wsBase}?token=${signToken({ user_id: away })}&since=0`);
    try {
      const received = await eventually(() => {
        const frames = socket.framesOf('notification');
        return frames.length >= 2 ? frames : undefined;
      });
      // Its copy of the first list task, then this one: that user's own seqs, nobody else's.
      expect(received.map((frame) => [frame.task_id, frame.seq])).toEqual([
        [listTaskId, 1],
        [taskId, 2],
      ]);
    } finally {
      await socket.close();
    }
  });
});
