import { Logger } from '@nestjs/common';
import { createServer } from 'node:net';
import { eventually } from '@test/support/test-context';
import { TaskQueueServer } from './task-queue.server';

/** A local port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a worker whose broker is unreachable', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns at each failed attempt, naming the broker without credentials and the next retry', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const port = await closedPort();
    const server = new TaskQueueServer({
      urls: [`amqp://guest:s3cret@127.0.0.1:${port}`],
      queue: 'never-consumed',
      queueType: 'classic',
      prefetchCount: 10,
    });
    void server.listen(() => undefined);
    try {
      const attempts = await eventually(() => {
        const calls = warn.mock.calls.map(([entry]) => entry as Record<string, unknown>);
        return calls.filter((entry) => entry.broker === `amqp://127.0.0.1:${port}`).length >= 2 ? calls : undefined;
      }, 15_000);
      expect(attempts[0]).toMatchObject({
        attempt: 1,
        retryInSeconds: 5,
        error: expect.stringContaining('ECONNREFUSED'),
        msg: expect.stringContaining(`RabbitMQ unreachable at amqp://127.0.0.1:${port}`),
      });
      expect(attempts[1]).toMatchObject({ attempt: 2 });
      expect(JSON.stringify(attempts)).not.toContain('s3cret');
    } finally {
      await server.close();
    }
  });
});
