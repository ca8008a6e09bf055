import { randomUUID } from 'node:crypto';
import type { AppProcess } from '@test/support/app-process';
import { AppStack } from '@test/support/app-stack';
import { TestPublisher, TestSocket, eventually, signToken, taskRow, uniqueName } from '@test/support/test-context';

/**
 * The inbox as users see it, over real sockets and REST, against two gateway processes and a
 * worker: nothing published while a client is away is lost, and read state follows the user.
 */
describe('inbox, resume and read receipts, end to end', () => {
  const queue = uniqueName('send_notification');
  const env = { AMQP_QUEUE: queue, PORT: '0', RESUME_WINDOW: '300' };
  let gatewayA: AppProcess;
  let gatewayB: AppProcess;
  let stack: AppStack;
  let publisher: TestPublisher;

  const urlOf = (gateway: AppProcess) => gateway.httpUrl();
  const socketUrl = (gateway: AppProcess, userId: string, query = '') => gateway.socketUrl(userId, query);
  const api = async (gateway: AppProcess, userId: string, path: string, method = 'GET') => {
    const response = await fetch(`${urlOf(gateway)}${path}`, {
      method,
      headers: { authorization: `Bearer ${signToken({ user_id: userId })}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  /** Publishes and waits until the worker has stored it; returns the notification id. */
  const notify = async (userId: string, message: unknown): Promise<number> => {
    const taskId = randomUUID();
    await publisher.publish(queue, { user_id: userId, message }, { messageId: taskId });
    const row = await eventually(() => taskRow(taskId), 15_000, `task ${taskId}`);
    return JSON.parse(row.result as string).notification_id;
  };
  const ids = (socket: TestSocket) => socket.framesOf('notification').map((frame) => frame.id as number);

  beforeAll(async () => {
    stack = await AppStack.start(env);
    [gatewayA, gatewayB] = stack.gateways;
    ({ publisher } = stack);
  });

  afterAll(() => stack?.stop());

  it('gives a client what it missed while offline, in order, then live ones', async () => {
    const user = `offline-${randomUUID().slice(0, 8)}`;
    const missed = [await notify(user, 'one'), await notify(user, { two: 2 }), await notify(user, ['three'])];
    const socket = await TestSocket.open(socketUrl(gatewayA, user, '&since=0'));
    await eventually(() => socket.framesOf('resumed')[0]);
    expect(ids(socket)).toEqual(missed);
    expect(socket.framesOf('notification').map((frame) => frame.message)).toEqual(['one', { two: 2 }, ['three']]);
    expect(socket.framesOf('resumed')[0]).toEqual({
      event: 'resumed',
      data: { since: 0, count: 3, last_id: missed[2] },
    });
    const live = await notify(user, 'four');
    await eventually(() => (ids(socket).length === 4 ? true : undefined));
    expect(ids(socket)).toEqual([...missed, live]);
    await socket.close();

    const again = await TestSocket.open(socketUrl(gatewayB, user, `&since=${missed[1]}`));
    await eventually(() => again.framesOf('resumed')[0]);
    expect(ids(again)).toEqual([missed[2], live]);
    await again.close();
  });

  it('switches from stored to live with no gap and no duplicate while notifications keep coming', async () => {
    const user = `stream-${randomUUID().slice(0, 8)}`;
    const total = 120;
    const publishing = (async () => {
      for (let i = 0; i < total; i++)
        await publisher.publish(queue, { user_id: user, message: i }, { messageId: randomUUID() });
    })();
    await new Promise((resolve) => setTimeout(resolve, 150)); // part of the stream is stored before the client connects
    const socket = await TestSocket.open(socketUrl(gatewayB, user, '&since=0'));
    await publishing;
    await eventually(() => (ids(socket).length >= total ? true : undefined), 30_000, `${total} notifications`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const received = ids(socket);
    expect(received).toHaveLength(total);
    // In id order, each once. (Ids follow the order the worker stored them in, which under
    // concurrent processing need not be the order they were published in.)
    expect(received).toEqual([...new Set(received)].sort((a, b) => a - b));
    const messages = socket.framesOf('notification').map((frame) => frame.message as number);
    expect(messages.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    await socket.close();
  });

  it('accepts a resume frame after connect, and says when the gap is too large for the socket', async () => {
    const user = `resume-${randomUUID().slice(0, 8)}`;
    const first = await notify(user, 'a');
    const second = await notify(user, 'b');
    const socket = await TestSocket.open(socketUrl(gatewayA, user));
    socket.send({ event: 'resume', data: { since: first } });
    await eventually(() => socket.framesOf('resumed')[0]);
    expect(ids(socket)).toEqual([second]);

    socket.send({ event: 'resume', data: { since: 'yesterday' } });
    expect(await socket.nextFrame()).toMatchObject({ event: 'error', data: { code: 'invalid_data' } });

    for (let i = 0; i < 301; i++)
      await publisher.publish(queue, { user_id: user, message: i }, { messageId: randomUUID() });
    await eventually(
      async () =>
        (await api(gatewayA, user, '/api/notifications/unread_count')).body.unread_count === 303 ? true : undefined,
      20_000,
    );
    const late = await TestSocket.open(socketUrl(gatewayB, user, `&since=${second}`));
    const gap = await eventually(() => late.framesOf('resume_gap')[0]);
    expect(gap.data).toEqual({ since: second, window: 300, fetch: `/api/notifications?after=${second}` });
    expect(ids(late)).toEqual([]);
    const page = await api(gatewayB, user, `/api/notifications?after=${second}&limit=200`);
    expect(page.body).toMatchObject({ results: expect.any(Array), has_more: true });
    expect(page.body.results).toHaveLength(200);
    await Promise.all([socket.close(), late.close()]);
  });

  it('marks read from one socket and tells every socket of the user, on every gateway', async () => {
    const user = `reader-${randomUUID().slice(0, 8)}`;
    const [one, two, three] = [await notify(user, 1), await notify(user, 2), await notify(user, 3)];
    const tab1 = await TestSocket.open(socketUrl(gatewayA, user));
    const tab2 = await TestSocket.open(socketUrl(gatewayB, user));

    tab1.send({ event: 'read', data: { ids: [one] } });
    const confirmed = await eventually(() => tab1.framesOf('read_confirmed')[0]);
    expect(confirmed.data).toEqual({ ids: [one], all: false, unread_count: 2 });
    const told = await eventually(() => tab2.framesOf('read')[0]);
    expect(told.data).toEqual({ ids: [one], all: false, unread_count: 2 });

    tab2.send({ event: 'ack', data: { id: two } });
    await eventually(() => tab2.framesOf('read_confirmed')[0]);
    expect((await api(gatewayA, user, '/api/notifications/unread_count')).body).toEqual({ unread_count: 1 });

    const all = await api(gatewayB, user, '/api/notifications/read_all', 'POST');
    expect(all).toEqual({ status: 200, body: { ids: [], all: true, unread_count: 0 } });
    await eventually(() => tab1.framesOf('read').find((frame) => (frame.data as { all: boolean }).all));
    const listed = await api(gatewayA, user, '/api/notifications');
    expect(
      listed.body.results.map((item: { id: number; read_at: string | null }) => [item.id, item.read_at !== null]),
    ).toEqual([
      [three, true],
      [two, true],
      [one, true],
    ]);

    tab1.send({ event: 'read', data: { ids: ['x'] } });
    expect(await tab1.nextFrame()).toMatchObject({ event: 'error', data: { code: 'invalid_data' } });
    await Promise.all([tab1.close(), tab2.close()]);
  });

  it('shows each user only their own inbox, and pages it', async () => {
    const owner = `owner-${randomUUID().slice(0, 8)}`;
    const stranger = `stranger-${randomUUID().slice(0, 8)}`;
    const own = [await notify(owner, 'a'), await notify(owner, 'b'), await notify(owner, 'c')];
    expect((await api(gatewayA, stranger, '/api/notifications')).body).toEqual({ results: [], has_more: false });
    expect((await api(gatewayA, stranger, `/api/notifications/${own[0]}/read`, 'POST')).status).toBe(404);
    expect((await api(gatewayA, owner, '/api/notifications/unread_count')).body).toEqual({ unread_count: 3 });

    const first = await api(gatewayA, owner, '/api/notifications?limit=2');
    expect(first.body.results.map((item: { id: number }) => item.id)).toEqual([own[2], own[1]]);
    expect(first.body.has_more).toBe(true);
    const rest = await api(gatewayA, owner, `/api/notifications?limit=2&before=${own[1]}`);
    expect(rest.body).toMatchObject({ results: [{ id: own[0], message: 'a', read_at: null }], has_more: false });

    const read = await api(gatewayB, owner, `/api/notifications/${own[1]}/read`, 'POST');
    expect(read.body).toEqual({ ids: [own[1]], all: false, unread_count: 2 });
    const unread = await api(gatewayB, owner, '/api/notifications?unread=true');
    expect(unread.body.results.map((item: { id: number }) => item.id)).toEqual([own[2], own[0]]);
    expect((await api(gatewayB, owner, '/api/notifications?limit=1000')).status).toBe(400);
  });
});
