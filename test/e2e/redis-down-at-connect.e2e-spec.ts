import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { AppProcess } from '@test/support/app-process';
import { TcpProxy } from '@test/support/tcp-proxy';
import { TestPublisher, TestSocket, eventually, taskRow, testConfig, uniqueName } from '@test/support/test-context';

/** How a socket's opening ended: its `connected` frame, or the code it was closed with first. */
function openingOutcome(url: string): Promise<'connected' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('error', reject);
    socket.on('message', (data) => {
      if (JSON.parse((data as Buffer).toString()).event !== 'connected') return;
      socket.close();
      resolve('connected');
    });
    socket.once('close', (code) => resolve(code));
  });
}

/**
 * A socket opens while the gateway's Redis has been away longer than the subscriber waits: the
 * gateway must close it with 1013 and keep serving; once Redis is back, the same user connects
 * and receives. (The promise of a failed opening used to be dropped: an unhandled rejection, which
 * ends a Node 20 process.)
 */
describe('a socket opening while the gateway cannot reach Redis', () => {
  const queue = uniqueName('send_notification');
  let proxy: TcpProxy;
  let gateway: AppProcess;
  let worker: AppProcess;
  let publisher: TestPublisher;

  beforeAll(async () => {
    const redis = await TcpProxy.start(testConfig().REDIS_URL, 6379);
    proxy = redis.proxy;
    [gateway, worker] = await Promise.all([
      AppProcess.start('gateway', { AMQP_QUEUE: queue, PORT: '0', REDIS_URL: redis.url }, /Gateway listening/),
      AppProcess.start('worker', { AMQP_QUEUE: queue }, /consuming/),
    ]);
    publisher = await TestPublisher.connect();
  });

  afterAll(async () => {
    await proxy?.restore();
    await Promise.all([gateway?.stop(), worker?.stop()]);
    await publisher?.deleteQueue(queue);
    await publisher?.close();
    await proxy?.cut();
  });

  it('closes it with 1013, keeps serving, and lets the user in once Redis is back', async () => {
    const user = `redis-down-${randomUUID().slice(0, 8)}`;
    const present = await TestSocket.open(gateway.socketUrl(`${user}-present`));
    await proxy.cut();
    // Longer than the subscriber's retries: its SUBSCRIBE fails instead of waiting.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await openingOutcome(gateway.socketUrl(user))).toBe(1013);
    expect(await openingOutcome(gateway.socketUrl(user))).toBe(1013); // nothing cached from the failure
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(gateway.running).toBe(true);
    expect((await fetch(`${gateway.httpUrl()}/health/live`)).status).toBe(200);

    await proxy.restore();
    const socket = await eventually(
      () => TestSocket.open(gateway.socketUrl(user)).catch(() => undefined),
      15_000,
      'a socket once Redis is back',
    );
    const taskId = randomUUID();
    await publisher.publish(queue, { user_id: user, message: 'after the outage' }, { messageId: taskId });
    expect((await eventually(() => taskRow(taskId), 10_000)).status).toBe('SUCCESS');
    const delivered = await eventually(() => socket.framesOf('notification')[0], 10_000, 'the notification');
    expect(delivered).toMatchObject({ task_id: taskId, message: 'after the outage' });
    await Promise.all([socket.close(), present.close()]);
    expect(gateway.logs().filter((line) => String(line.msg).startsWith('Unhandled promise rejection'))).toEqual([]);
  });
});
