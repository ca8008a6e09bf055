import { randomUUID } from 'node:crypto';
import type { AppProcess } from '@test/support/app-process';
import { AppStack } from '@test/support/app-stack';
import { TestPublisher, TestSocket, eventually, signToken, taskRow, uniqueName } from '@test/support/test-context';

/**
 * The whole path as users see it: two gateway processes and a worker process, real sockets for
 * three users, messages published to RabbitMQ by another client, rows read back from Postgres.
 */
describe('notification flow, end to end', () => {
  const queue = uniqueName('send_notification');
  const env = { AMQP_QUEUE: queue, PORT: '0', WORKER_NAME: 'celery@e2e' };
  let gatewayA: AppProcess;
  let gatewayB: AppProcess;
  let worker: AppProcess;
  let stack: AppStack;
  let publisher: TestPublisher;
  const urlOf = (gateway: AppProcess) => gateway.httpUrl();
  const wsUrl = (gateway: AppProcess, userId: number) => gateway.socketUrl(userId);

  beforeAll(async () => {
    stack = await AppStack.start(env);
    [gatewayA, gatewayB] = stack.gateways;
    ({ worker, publisher } = stack);
  });

  afterAll(() => stack?.stop());

  it('delivers each notification to every socket of its user on any gateway, and to nobody else', async () => {
    const alice = 101;
    const bob = 102;
    const carol = 103;
    const aliceOnA = await TestSocket.open(wsUrl(gatewayA, alice));
    const aliceOnB = await TestSocket.open(wsUrl(gatewayB, alice));
    const bobOnA = await TestSocket.open(wsUrl(gatewayA, bob));
    const carolOnB = await TestSocket.open(wsUrl(gatewayB, carol));

    const [nestTask, plainTask, bodyTask, badJsonTask, noUserTask] = Array.from({ length: 5 }, () => randomUUID());
    const richMessage = { title: 'Build finished', tags: ['ci', 'green'], count: 3, nested: { ok: true, none: null } };
    await publisher.publish(
      queue,
      { pattern: 'send_notification', data: { user_id: alice, message: 'hello alice' } },
      { messageId: nestTask },
    );
    await publisher.publish(
      queue,
      { user_id: String(bob), message: 'hello bob' },
      { correlationId: plainTask, contentType: 'application/json' },
    );
    await publisher.publish(queue, { user_id: alice, message: richMessage, task_id: bodyTask });
    await publisher.publish(queue, '{"user_id": 101, "message": ', { messageId: badJsonTask });
    await publisher.publish(
      queue,
      { pattern: 'send_notification', data: { message: 'to whom?' } },
      { messageId: noUserTask },
    );

    const rows = await Promise.all(
      [nestTask, plainTask, bodyTask, badJsonTask, noUserTask].map((id) =>
        eventually(() => taskRow(id), 15_000, `row ${id}`),
      ),
    );
    const [nestRow, plainRow, bodyRow, badJsonRow, noUserRow] = rows;
    await eventually(() =>
      aliceOnA.framesOf('notification').length >= 2 &&
      aliceOnB.framesOf('notification').length >= 2 &&
      bobOnA.framesOf('notification').length >= 1
        ? true
        : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 300)); // room for any stray frame to arrive

    const notifications = (socket: TestSocket) =>
      socket.framesOf('notification').map((frame) => [frame.task_id, frame.message]);
    expect(notifications(aliceOnA)).toEqual([
      [nestTask, 'hello alice'],
      [bodyTask, richMessage],
    ]);
    expect(notifications(aliceOnB)).toEqual(notifications(aliceOnA));
    expect(notifications(bobOnA)).toEqual([[plainTask, 'hello bob']]);
    expect(carolOnB.framesOf('notification')).toEqual([]);

    const frame = aliceOnA.framesOf('notification')[0];
    expect(frame).toEqual({
      event: 'notification',
      type: 'notification',
      id: expect.any(Number),
      seq: 1,
      task_id: nestTask,
      created_at: expect.any(String),
      message: 'hello alice',
    });
    expect(aliceOnB.framesOf('notification')[0].id).toBe(frame.id);

    expect(nestRow).toMatchObject({ status: 'SUCCESS', worker: 'celery@e2e', task_name: 'send_notification' });
    expect(JSON.parse(nestRow.result as string)).toEqual({ notification_id: frame.id, group: 'Notifications_101' });
    expect(JSON.parse(plainRow.result as string)).toMatchObject({ group: 'Notifications_102' });
    expect(bodyRow.status).toBe('SUCCESS');
    expect(badJsonRow.status).toBe('FAILURE');
    expect(JSON.parse(badJsonRow.result as string)).toMatchObject({ exc_type: 'DecodeError' });
    expect(noUserRow.status).toBe('FAILURE');
    expect(JSON.parse(noUserRow.result as string)).toMatchObject({
      exc_type: 'TypeError',
      exc_message: [expect.stringContaining('user_id')],
    });

    await Promise.all([aliceOnA, aliceOnB, bobOnA, carolOnB].map((socket) => socket.close()));
  });

  it('lets an admin read those results over REST from any gateway', async () => {
    const taskId = randomUUID();
    await publisher.publish(queue, { user_id: 5, message: 'for the record' }, { messageId: taskId });
    await eventually(() => taskRow(taskId));
    const admin = { authorization: `Bearer ${signToken({ user_id: 1, is_staff: true })}` };
    const one = await fetch(`${urlOf(gatewayB)}/api/tasks/${taskId}`, { headers: admin });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      task_id: taskId,
      status: 'SUCCESS',
      result: { group: 'Notifications_5' },
    });
    const failures = (await (
      await fetch(`${urlOf(gatewayA)}/api/tasks?status=FAILURE&worker=celery@e2e`, { headers: admin })
    ).json()) as { count: number; results: Array<{ status: string }> };
    expect(failures.count).toBeGreaterThanOrEqual(2);
    expect(failures.results.every((row: { status: string }) => row.status === 'FAILURE')).toBe(true);
  });

  it('logs connections without ever logging a token', async () => {
    const token = signToken({ user_id: 77 });
    const socket = await TestSocket.open(`${urlOf(gatewayA).replace('http', 'ws')}/ws/notifications/?token=${token}`);
    await socket.close();
    await eventually(() => gatewayA.logs().find((log) => log.msg === 'Client disconnected' && log.userId === '77'));
    expect(gatewayA.logs().find((log) => log.msg === 'Client connected' && log.userId === '77')).toMatchObject({
      connectionId: expect.any(String),
      transport: 'websocket',
    });
    expect(gatewayA.logLines.join('\n')).not.toContain(token);
  });

  it('logs REST calls without the token of their Authorization header or ?token= parameter', async () => {
    const headerToken = signToken({ user_id: 78 });
    const queryToken = signToken({ user_id: 79 });
    const byHeader = await fetch(`${urlOf(gatewayA)}/api/notifications/unread_count`, {
      headers: { authorization: `Bearer ${headerToken}` },
    });
    const byQuery = await fetch(`${urlOf(gatewayA)}/api/notifications/unread_count?token=${queryToken}`);
    expect([byHeader.status, byQuery.status]).toEqual([200, 200]);
    // Both requests are logged (pino-http, one line each), with the token cut out.
    const requestLog = () =>
      gatewayA.logs().filter((log) => (log.req as { url?: string } | undefined)?.url?.includes('/unread_count'));
    await eventually(() => (requestLog().length >= 2 ? true : undefined));
    expect(JSON.stringify(requestLog())).toContain('token=[REDACTED]');
    const everything = gatewayA.logLines.join('\n');
    expect(everything).not.toContain(headerToken);
    expect(everything).not.toContain(queryToken);
  });

  it('on SIGTERM, closes sockets with 1001 and exits 0; the other gateway keeps serving', async () => {
    const leaving = await TestSocket.open(wsUrl(gatewayA, 201));
    const staying = await TestSocket.open(wsUrl(gatewayB, 201));
    expect(await gatewayA.stop()).toBe(0);
    await eventually(() => leaving.closeCode ?? undefined);
    expect(leaving.closeCode).toBe(1001);

    const taskId = randomUUID();
    await publisher.publish(queue, { user_id: 201, message: 'still here' }, { messageId: taskId });
    await eventually(() => staying.framesOf('notification')[0]);
    expect(staying.framesOf('notification')[0]).toMatchObject({ task_id: taskId, message: 'still here' });
    await staying.close();
    expect(await worker.stop()).toBe(0);
  });
});
