import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AppProcess } from '@test/support/app-process';
import { AppStack } from '@test/support/app-stack';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  taskRow,
  uniqueName,
  withDatabase,
} from '@test/support/test-context';

/**
 * Thousands of generated frames and AMQP messages thrown at a running gateway and worker; then a
 * normal user must still be served exactly as before, and nobody must have crashed.
 */
describe('fuzzing the running system', () => {
  const queue = uniqueName('send_notification');
  // The frame rate limit is raised so the fuzz reaches the frame parser; the limit has tests of its own.
  const env = {
    AMQP_QUEUE: queue,
    PORT: '0',
    WS_MAX_FRAMES_PER_SECOND: '100000',
    WS_MAX_PAYLOAD_BYTES: '4096',
    MAX_MESSAGE_BYTES: '4096',
    MAX_RECIPIENTS: '50',
    // Raised so the stream fuzz reaches the resume point and the token; the limit has tests of its own.
    WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '100000',
  };
  let gateway: AppProcess;
  let worker: AppProcess;
  let stack: AppStack;
  let publisher: TestPublisher;
  const wsUrl = (userId: string) => gateway.socketUrl(userId);

  beforeAll(async () => {
    stack = await AppStack.start(env, 1);
    [gateway] = stack.gateways;
    ({ worker, publisher } = stack);
  });

  afterAll(() => stack?.stop());

  it('survives 3,000 generated frames and still serves everyone', async () => {
    const frame = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc
        .record({
          event: fc.constantFrom(
            'ping',
            'resume',
            'read',
            'ack',
            'refresh',
            'subscribe',
            '__proto__',
            'constructor',
            '',
          ),
          data: fc.jsonValue(),
        })
        .map((f) => JSON.stringify(f)),
      // Tokens of every shape a refresh could carry: none may open a session for another user.
      fc
        .oneof(
          fc.string({ maxLength: 300 }),
          fc.constantFrom('a.b.c', signToken({ user_id: 'someone-else' }), signToken({ user_id: 1 }, 'wrong-secret')),
          fc.record({ user_id: fc.jsonValue() }).map((claims) => signToken(claims)),
        )
        .map((token) => JSON.stringify({ event: 'refresh', data: { token } })),
      fc.uint8Array({ maxLength: 64 }),
      fc.nat(200).map((depth) => `{"event":"ping","data":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      fc.constant('x'.repeat(5000)),
    );
    const samples = fc.sample(frame, { numRuns: 3000, seed: 20261127 });
    const fuzzers = await Promise.all(Array.from({ length: 10 }, (_, i) => TestSocket.open(wsUrl(`fuzzer-${i}`))));
    samples.forEach((sample, i) => {
      const socket = fuzzers[i % fuzzers.length].socket;
      if (socket.readyState !== socket.OPEN) return;
      if (sample instanceof Uint8Array) socket.send(Buffer.from(sample), { binary: true });
      else socket.send(sample);
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await Promise.all(fuzzers.map((socket) => socket.close()));
    // No generated token was the fuzzer's own, so none may have been taken.
    expect(fuzzers.flatMap((socket) => socket.framesOf('refreshed'))).toEqual([]);

    await expectNormalUserServed(`after-frames-${randomUUID().slice(0, 8)}`);
  });

  it('survives 2,000 generated AMQP messages: every one with an id is recorded, none blocks the queue', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 8 })),
    );
    const message = fc.record({
      body: fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.json().map((json) => Buffer.from(json)),
        fc
          .record({ user_id: fc.jsonValue(), message: fc.jsonValue() }, { requiredKeys: [] })
          .map((body) => Buffer.from(JSON.stringify(body))),
        // Lists of users: valid, too long, repeating, of the wrong types, or no list at all.
        fc
          .record(
            {
              user_ids: fc.oneof(
                fc.jsonValue(),
                fc.array(fc.oneof(fc.nat(20), fc.constantFrom('a', 'b', '1', 'a b', ''), fc.jsonValue()), {
                  maxLength: 60,
                }),
              ),
              user_id: fc.nat(3),
              message: fc.jsonValue(),
            },
            { requiredKeys: ['user_ids'] },
          )
          .map((body) => Buffer.from(JSON.stringify(body))),
        fc
          .record(
            {
              broadcast: fc.oneof(fc.constant(true), fc.jsonValue()),
              message: fc.jsonValue(),
              user_id: fc.jsonValue(),
            },
            { requiredKeys: ['broadcast'] },
          )
          .map((body) => Buffer.from(JSON.stringify(body))),
        fc
          .tuple(
            fc.array(fc.jsonValue(), { maxLength: 3 }),
            fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue()),
            fc.jsonValue(),
          )
          .map((body) => Buffer.from(JSON.stringify(body))),
        fc.constant(Buffer.alloc(5000, 0x41)),
      ),
      contentType: fc.option(
        fc.constantFrom('application/json', 'application/x-python-serialize', 'application/x-yaml', 'text/plain', ''),
      ),
      celery: fc.boolean(),
      task: fc.oneof(
        fc.constant('notifications.tasks.send_notification_task'),
        fc.string({ maxLength: 300 }),
        fc.constant('y'.repeat(300)),
      ),
      eta: fc.option(header),
      expires: fc.option(header),
      extra: header,
    });
    const samples = fc.sample(message, { numRuns: 2000, seed: 27112026 });
    const taskIds: string[] = [];
    for (const sample of samples) {
      const taskId = randomUUID();
      taskIds.push(taskId);
      const headers: Record<string, unknown> = { extra: sample.extra };
      if (sample.celery)
        Object.assign(headers, {
          task: sample.task,
          id: taskId,
          eta: sample.eta ?? null,
          expires: sample.expires ?? null,
        });
      await publisher.publish(queue, sample.body, {
        messageId: taskId,
        headers,
        ...(sample.contentType === null ? {} : { contentType: sample.contentType }),
      });
    }
    await eventually(
      async () => ((await publisher.messageCount(queue)) === 0 ? true : undefined),
      60_000,
      'the queue to drain',
    );
    const recorded = await eventually(
      async () => {
        const count = await withDatabase(
          async (db) =>
            (
              await db.query(
                'SELECT count(*)::int AS n FROM django_celery_results_taskresult WHERE task_id = ANY($1)',
                [taskIds],
              )
            ).rows[0].n,
        );
        // Celery tasks with a future eta wait unacked; generated etas are not valid dates, so none should.
        return count === taskIds.length ? count : undefined;
      },
      60_000,
      'a result row for every message',
    );
    expect(recorded).toBe(taskIds.length);

    await expectNormalUserServed(`after-amqp-${randomUUID().slice(0, 8)}`);
  });

  it('answers 300 generated POST /api/broadcast bodies with 202 or a 400 saying why, never a 5xx', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 200 }),
      fc.record({ message: fc.jsonValue() }).map((value) => JSON.stringify(value)),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()).map((value) => JSON.stringify(value)),
      fc.nat(300).map((depth) => `{"message":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      fc.constant(JSON.stringify({ message: 'x'.repeat(5000) })),
    );
    const admin = signToken({ user_id: 1, is_staff: true });
    const answers = new Map<number, number>();
    for (const sample of fc.sample(body, { numRuns: 300, seed: 20261203 })) {
      const response = await fetch(`${gateway.httpUrl()}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: sample,
      });
      const answer = (await response.json()) as { message?: unknown };
      answers.set(response.status, (answers.get(response.status) ?? 0) + 1);
      if (response.status === 400) expect(answer.message).toBeTruthy();
      else expect(response.status).toBe(202);
    }
    expect(answers.get(202)).toBeGreaterThan(0);
    expect(answers.get(400)).toBeGreaterThan(0);

    await expectNormalUserServed(`after-broadcasts-${randomUUID().slice(0, 8)}`);
  });

  it('records every hostile user_ids list as FAILURE with its reason, delivers nothing to anyone, and serves on', async () => {
    const victim = `victim-${randomUUID().slice(0, 8)}`;
    const socket = await TestSocket.open(wsUrl(victim));
    const deep = (levels: number) => `${'['.repeat(levels)}"${victim}"${']'.repeat(levels)}`;
    const hostile: Array<[body: string, reason: string]> = [
      [
        JSON.stringify({ user_ids: Array.from({ length: 51 }, (_, i) => `${victim}-${i}`), message: 1 }),
        'user_ids lists 51 users; at most 50',
      ],
      [
        JSON.stringify({ user_ids: Array.from({ length: 2000 }, () => victim), message: 1 }),
        'exceeds MAX_MESSAGE_BYTES',
      ],
      [JSON.stringify({ user_ids: [victim, 'other', victim], message: 1 }), `user_ids[2] repeats user ${victim}`],
      [JSON.stringify({ user_ids: victim, message: 1 }), 'user_ids must be a list'],
      [JSON.stringify({ user_ids: { 0: victim, length: 1 }, message: 1 }), 'user_ids must be a list'],
      [JSON.stringify({ user_ids: [[victim]], message: 1 }), 'user_ids[0] must be'],
      [JSON.stringify({ user_ids: ['ok', { user_id: victim }], message: 1 }), 'user_ids[1] must be'],
      [`{"user_ids": [${deep(70)}], "message": 1}`, 'nests deeper than 64'],
      [JSON.stringify({ user_id: victim, user_ids: [victim], message: 1 }), 'user_id or user_ids, not both'],
      [
        JSON.stringify({ pattern: 'send_notification', data: { user_ids: [], message: 1 } }),
        'user_ids must not be empty',
      ],
    ];
    const taskIds = hostile.map(() => randomUUID());
    for (const [index, [body]] of hostile.entries())
      await publisher.publish(queue, Buffer.from(body), { messageId: taskIds[index], contentType: 'application/json' });
    for (const [index, [, reason]] of hostile.entries()) {
      const row = await eventually(() => taskRow(taskIds[index]), 15_000, `the row of hostile list ${index}`);
      expect(row.status).toBe('FAILURE');
      expect(String(row.result)).toContain(reason);
    }
    const stored = await withDatabase(
      async (db) =>
        (await db.query('SELECT count(*)::int AS n FROM notification_inbox WHERE task_id = ANY($1)', [taskIds])).rows[0]
          .n,
    );
    expect(stored).toBe(0);
    expect(socket.framesOf('notification')).toEqual([]);
    await socket.close();
    await expectNormalUserServed(`after-lists-${randomUUID().slice(0, 8)}`);
  });

  it('answers 1,000 generated stream requests (Last-Event-ID, since, token) with 200, or 400/401 and a JSON reason', async () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
      maxLength: 40,
    });
    const id = fc.oneof(
      fc.nat().map(String),
      fc.constantFrom('', '-1', '1e3', '0x1', '99999999999999999', ' 7 '),
      printable,
    );
    const request = fc.record({
      lastEventId: fc.option(id),
      since: fc.option(fc.oneof(id, fc.string({ maxLength: 20 }))),
      token: fc.oneof(
        fc.constant(signToken({ user_id: 'stream-fuzzer' })),
        printable,
        fc.constantFrom('a.b.c', signToken({ user_id: 1 }, 'wrong-secret')),
      ),
    });
    const samples = fc.sample(request, { numRuns: 1000, seed: 20261203 });
    const statuses = new Map<number, number>();
    for (let at = 0; at < samples.length; at += 20) {
      await Promise.all(
        samples.slice(at, at + 20).map(async (sample) => {
          const query = new URLSearchParams({ token: sample.token });
          if (sample.since !== null) query.set('since', sample.since);
          const headers: Record<string, string> =
            sample.lastEventId === null ? {} : { 'last-event-id': sample.lastEventId };
          const answer = await streamAnswer(
            `${gateway.httpUrl()}/api/notifications/stream?${query.toString()}`,
            headers,
          );
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 200) return;
          expect(answer.status === 400 || answer.status === 401).toBe(true);
          expect(answer.body).toMatchObject({ statusCode: answer.status, message: expect.any(String) });
          if (answer.status === 400) expect(answer.body.message).toMatch(/^(Last-Event-ID|since) must be/);
        }),
      );
    }
    // The generator reaches every outcome, so each kind of answer was actually checked.
    expect([...statuses.keys()].sort()).toEqual([200, 400, 401]);

    await expectNormalUserServed(`after-streams-${randomUUID().slice(0, 8)}`);
  });

  /** A stream request's status; a refusal's JSON body; an accepted stream is closed at its headers. */
  function streamAnswer(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(url, { headers }, (response) => {
        if (response.statusCode === 200) {
          request.destroy();
          return resolve({ status: 200, body: null });
        }
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  async function expectNormalUserServed(userId: string) {
    const socket = await TestSocket.open(wsUrl(userId));
    socket.send({ event: 'ping', data: 'ok?' });
    expect(await socket.nextFrame()).toEqual({ event: 'pong', data: 'ok?' });
    const taskId = randomUUID();
    await publisher.publish(queue, { user_id: userId, message: { still: 'working' } }, { messageId: taskId });
    expect((await eventually(() => taskRow(taskId), 15_000)).status).toBe('SUCCESS');
    const frame = await eventually(() => socket.framesOf('notification')[0]);
    expect(frame).toMatchObject({ task_id: taskId, message: { still: 'working' } });
    expect(socket.framesOf('notification')).toHaveLength(1);
    await socket.close();
    const crashed = [...gateway.logs(), ...worker.logs()].filter((log) => (log.level as number) >= 60);
    expect(crashed).toEqual([]);
  }
});
