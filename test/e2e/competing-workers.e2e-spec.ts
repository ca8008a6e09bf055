import { randomUUID } from 'node:crypto';
import { AppStack } from '@test/support/app-stack';
import { TestSocket, eventually, uniqueName, withDatabase } from '@test/support/test-context';

const USERS = 36;
/** Users with a socket on each gateway; the others have one, alternating between the gateways. */
const TWO_SOCKETS = 12;
const NOTIFICATIONS = 3000;
const WORKERS = 3;

interface Sent {
  taskId: string;
  userId: number;
}

/** Every third one as Celery sends it (protocol 2, `delay(user_id, message)`), the rest as plain JSON. */
function message(taskId: string, userId: number, n: number): { body: object; properties: Record<string, unknown> } {
  if (n % 3 === 2) {
    return {
      body: [[userId, `celery ${n}`], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
      properties: {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        correlationId: taskId,
        headers: {
          lang: 'py',
          task: 'notifications.tasks.send_notification_task',
          id: taskId,
          eta: null,
          expires: null,
          argsrepr: `(${userId},)`,
          kwargsrepr: '{}',
        },
      },
    };
  }
  return {
    body: { user_id: userId, message: `plain ${n}` },
    properties: { messageId: taskId, contentType: 'application/json' },
  };
}

/**
 * Several workers as competing consumers of one queue and two gateways: thousands of notifications
 * in both message formats, each delivered once to each socket of its user whichever worker ran it
 * and whichever gateway holds the socket; one result row per task; every worker takes a share. Then
 * the same with a worker killed with SIGKILL mid-stream: its unacked messages go back to the queue
 * and the others run them. Once with a classic queue, once with a quorum queue.
 */
describe.each(['classic', 'quorum'])('%s queue: 3 workers competing, 2 gateways', (queueType) => {
  const queue = uniqueName(`compete_${queueType}`);
  const env = {
    AMQP_QUEUE: queue,
    AMQP_QUEUE_TYPE: queueType,
    PORT: '0',
    WORKER_HTTP_PORT: '0',
    WORKER_NAME: `celery@${queueType}`,
    AMQP_PREFETCH: '50',
  };
  let stack: AppStack;
  let sockets: Array<{ userId: number; socket: TestSocket }>;
  const users = Array.from({ length: USERS }, (_, i) => 7000 + i);

  beforeAll(async () => {
    stack = await AppStack.start(env, 2, WORKERS);
    const [gatewayA, gatewayB] = stack.gateways;
    sockets = [];
    for (const [i, userId] of users.entries()) {
      const gateways = i < TWO_SOCKETS ? [gatewayA, gatewayB] : [i % 2 ? gatewayB : gatewayA];
      for (const gateway of gateways)
        sockets.push({ userId, socket: await TestSocket.open(gateway.socketUrl(userId)) });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(sockets?.map(({ socket }) => socket.close()) ?? []);
    await stack?.stop();
  });

  /**
   * Publishes `NOTIFICATIONS` to users in turn, in confirmed batches: faster than the workers run
   * them, so each worker holds a full prefetch window. `midway` starts after a third of them and
   * runs while publishing goes on (paused, the workers would soon hold nothing); it is awaited at
   * the end.
   */
  async function publishAll(midway?: () => Promise<void>): Promise<Sent[]> {
    const sent: Sent[] = [];
    const batch = 50;
    let midwayDone: Promise<void> = Promise.resolve();
    for (let start = 0; start < NOTIFICATIONS; start += batch) {
      if (start === Math.floor(NOTIFICATIONS / 3 / batch) * batch && midway) midwayDone = midway();
      const next = Array.from({ length: Math.min(batch, NOTIFICATIONS - start) }, (_, i) => ({
        n: start + i,
        taskId: randomUUID(),
        userId: users[(start + i) % USERS],
      }));
      await Promise.all(
        next.map(({ n, taskId, userId }) => {
          const { body, properties } = message(taskId, userId, n);
          return stack.publisher.publish(queue, body, properties);
        }),
      );
      sent.push(...next.map(({ taskId, userId }) => ({ taskId, userId })));
    }
    await midwayDone;
    return sent;
  }

  /** One row per task, all SUCCESS; the number each worker ran. */
  async function resultRows(sent: Sent[]): Promise<Record<string, number>> {
    const ids = sent.map(({ taskId }) => taskId);
    const rowCount = () =>
      withDatabase(
        async (db) =>
          (
            await db.query('SELECT count(*)::int AS n FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [
              ids,
            ])
          ).rows[0].n as number,
      );
    await eventually(
      async () => ((await rowCount()) === ids.length ? true : undefined),
      90_000,
      `${ids.length} result rows`,
    );
    return withDatabase(async (db) => {
      const perTask = await db.query(
        "SELECT task_id, count(*)::int AS n, bool_and(status = 'SUCCESS') AS ok FROM django_celery_results_taskresult WHERE task_id = ANY($1) GROUP BY task_id",
        [ids],
      );
      expect(perTask.rows.length).toBe(ids.length);
      expect(perTask.rows.filter((row) => row.n !== 1 || !row.ok)).toEqual([]);
      const perWorker = await db.query(
        'SELECT worker, count(*)::int AS n FROM django_celery_results_taskresult WHERE task_id = ANY($1) GROUP BY worker',
        [ids],
      );
      return Object.fromEntries(perWorker.rows.map((row) => [row.worker as string, row.n as number]));
    });
  }

  /**
   * What each socket got of `sent`: the task ids it lacks, those it got more than once, and those of
   * another user. A repeat with the same notification id is one a client drops (redelivery).
   */
  async function deliveries(sent: Sent[]) {
    const expected = new Map<number, string[]>();
    for (const { taskId, userId } of sent) expected.set(userId, [...(expected.get(userId) ?? []), taskId]);
    const taskIds = new Set(sent.map(({ taskId }) => taskId));
    const received = (socket: TestSocket) =>
      socket.framesOf('notification').filter((frame) => taskIds.has(frame.task_id as string));
    await eventually(
      () =>
        sockets.every(
          ({ userId, socket }) =>
            new Set(received(socket).map((frame) => frame.task_id)).size >= expected.get(userId)!.length,
        )
          ? true
          : undefined,
      30_000,
      'every socket to get its notifications',
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for any stray or repeated frame
    let lost = 0;
    let duplicates = 0;
    let duplicatesWithAnotherId = 0;
    let misdelivered = 0;
    for (const { userId, socket } of sockets) {
      const mine = new Set(expected.get(userId));
      const idsByTask = new Map<string, Array<unknown>>();
      for (const frame of received(socket)) {
        if (!mine.has(frame.task_id as string)) misdelivered++;
        idsByTask.set(frame.task_id as string, [...(idsByTask.get(frame.task_id as string) ?? []), frame.id]);
      }
      for (const taskId of mine) if (!idsByTask.has(taskId)) lost++;
      for (const ids of idsByTask.values()) {
        duplicates += ids.length - 1;
        if (new Set(ids).size > 1) duplicatesWithAnotherId++;
      }
    }
    return {
      deliveries: [...expected.entries()].reduce(
        (sum, [userId, ids]) => sum + ids.length * sockets.filter((s) => s.userId === userId).length,
        0,
      ),
      lost,
      duplicates,
      duplicatesWithAnotherId,
      misdelivered,
    };
  }

  it(`delivers ${NOTIFICATIONS} notifications exactly once to each socket, one row each, every worker taking a share`, async () => {
    const started = Date.now();
    const sent = await publishAll();
    const shares = await resultRows(sent);
    const delivered = await deliveries(sent);
    console.log(
      `${queueType}: ${NOTIFICATIONS} notifications to ${sockets.length} sockets in ${Date.now() - started} ms; per worker ${JSON.stringify(shares)}; ${JSON.stringify(delivered)}`,
    );
    expect(delivered).toEqual({
      deliveries: expect.any(Number),
      lost: 0,
      duplicates: 0,
      duplicatesWithAnotherId: 0,
      misdelivered: 0,
    });
    expect(Object.keys(shares).sort()).toEqual(
      Array.from({ length: WORKERS }, (_, i) => `${env.WORKER_NAME}-${i + 1}`),
    );
    for (const count of Object.values(shares)) expect(count).toBeGreaterThan(NOTIFICATIONS / WORKERS / 4);
  }, 180_000);

  it('loses nothing when a worker is killed with SIGKILL mid-stream: the others run what it held', async () => {
    const [victim, ...survivors] = stack.workers;
    const victimName = `${env.WORKER_NAME}-1`;
    let heldWhenKilled = 0;
    const sent = await publishAll(async () => {
      // Killed while it holds messages delivered and not yet acked (its metrics say how many).
      const metrics = victim
        .logs()
        .map((log) => /health on (\S+)/.exec(String(log.msg))?.[1])
        .find(Boolean);
      heldWhenKilled = await eventually(
        async () => {
          const text = await (await fetch(`${metrics}/metrics`)).text();
          const held = Number(/^notify_amqp_unacked\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
          return held > 0 ? held : undefined;
        },
        10_000,
        `${victimName} to hold messages`,
      );
      await victim.stop('SIGKILL');
    });
    const shares = await resultRows(sent);
    const delivered = await deliveries(sent);
    console.log(
      `${queueType}, ${victimName} SIGKILLed holding ${heldWhenKilled} unacked: per worker ${JSON.stringify(shares)}; ${JSON.stringify(delivered)}`,
    );
    expect(heldWhenKilled).toBeGreaterThan(0);
    expect(victim.running).toBe(false);
    expect(survivors.every((worker) => worker.running)).toBe(true);
    // A message run but not yet acked when the worker died is run again: the same notification
    // (same id) may reach a socket twice, and clients drop an id they have. None is lost.
    expect(delivered).toMatchObject({ lost: 0, duplicatesWithAnotherId: 0, misdelivered: 0 });
    for (const worker of survivors)
      expect(shares[`${env.WORKER_NAME}-${stack.workers.indexOf(worker) + 1}`]).toBeGreaterThan(0);
  }, 180_000);
});
