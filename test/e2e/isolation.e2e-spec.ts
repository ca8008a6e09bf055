import { randomUUID } from 'node:crypto';
import type { AppProcess } from '@test/support/app-process';
import { AppStack } from '@test/support/app-stack';
import { TestPublisher, TestSocket, eventually, signToken, taskRow, uniqueName } from '@test/support/test-context';

/** Many users, many sockets, two gateways: nothing of one user is ever visible to another. */
describe('isolation between users', () => {
  const queue = uniqueName('send_notification');
  const env = { AMQP_QUEUE: queue, PORT: '0' };
  const USERS = 40;
  const PER_USER = 5;
  let gateways: AppProcess[];
  let stack: AppStack;
  let publisher: TestPublisher;
  const run = randomUUID().slice(0, 6);
  const users = Array.from({ length: USERS }, (_, i) => `iso-${run}-${i}`);
  const urlOf = (gateway: AppProcess) => gateway.httpUrl();
  const api = async (gateway: AppProcess, userId: string, path: string, method = 'GET') => {
    const response = await fetch(`${urlOf(gateway)}${path}`, {
      method,
      headers: { authorization: `Bearer ${signToken({ user_id: userId })}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    stack = await AppStack.start(env);
    ({ gateways, publisher } = stack);
  });

  afterAll(() => stack?.stop());

  it('delivers, lists and marks read each user’s notifications for that user only', async () => {
    const sockets = new Map<string, TestSocket[]>();
    for (const user of users) {
      const token = signToken({ user_id: user });
      sockets.set(
        user,
        await Promise.all(
          gateways.map((gateway) =>
            TestSocket.open(`${urlOf(gateway).replace('http', 'ws')}/ws/notifications/?token=${token}`),
          ),
        ),
      );
    }
    const sent = new Map<string, string[]>(users.map((user) => [user, []]));
    for (let round = 0; round < PER_USER; round++) {
      for (const user of users) {
        const taskId = randomUUID();
        sent.get(user)!.push(taskId);
        await publisher.publish(queue, { user_id: user, message: { for: user, round } }, { messageId: taskId });
      }
    }
    const last = sent.get(users[USERS - 1])![PER_USER - 1];
    await eventually(() => taskRow(last), 30_000);
    await eventually(
      () =>
        [...sockets.values()].flat().every((socket) => socket.framesOf('notification').length >= PER_USER)
          ? true
          : undefined,
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const user of users) {
      for (const socket of sockets.get(user)!) {
        const frames = socket.framesOf('notification');
        expect(new Set(frames.map((frame) => frame.task_id))).toEqual(new Set(sent.get(user)));
        expect(frames.every((frame) => (frame.message as { for: string }).for === user)).toBe(true);
      }
      const inbox = await api(gateways[0], user, '/api/notifications');
      expect(new Set(inbox.body.results.map((item: { task_id: string }) => item.task_id))).toEqual(
        new Set(sent.get(user)),
      );
    }

    // Every user marks their first notification read on one gateway: only their own other socket hears of it.
    const firstIds = new Map<string, number>();
    for (const user of users) {
      const id = sockets.get(user)![0].framesOf('notification')[0].id as number;
      firstIds.set(user, id);
      sockets.get(user)![0].send({ event: 'read', data: { ids: [id] } });
    }
    await eventually(
      () => (users.every((user) => sockets.get(user)![1].framesOf('read').length >= 1) ? true : undefined),
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const user of users) {
      const reads = sockets
        .get(user)![1]
        .framesOf('read')
        .map((frame) => (frame.data as { ids: number[] }).ids);
      expect(reads).toEqual([[firstIds.get(user)]]);
    }

    // Someone else's notification id is not found, whatever the caller does with it.
    const [alice, bob] = users;
    expect((await api(gateways[1], bob, `/api/notifications/${firstIds.get(alice)}/read`, 'POST')).status).toBe(404);
    expect(
      (await api(gateways[1], bob, `/api/notifications?after=0&limit=200`)).body.results.every(
        (item: { message: { for: string } }) => item.message.for === bob,
      ),
    ).toBe(true);
    expect((await api(gateways[1], bob, '/api/tasks')).status).toBe(403);
    expect((await api(gateways[1], bob, `/api/tasks/${sent.get(alice)![0]}`)).status).toBe(403);

    await Promise.all([...sockets.values()].flat().map((socket) => socket.close()));
  });
});
