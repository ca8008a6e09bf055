import { EventEmitter } from 'node:events';
import { SupervisedProcess, superviseProcess } from './process-supervisor';

function setUp(close: () => Promise<void> = async () => undefined) {
  const host = Object.assign(new EventEmitter(), { exit: jest.fn() }) as unknown as SupervisedProcess &
    EventEmitter & { exit: jest.Mock };
  const logger = { log: jest.fn(), error: jest.fn(), warn: jest.fn() };
  const app = { close: jest.fn(close) };
  superviseProcess(app, logger, 1000, host);
  return { host, logger, app };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('superviseProcess', () => {
  it('logs an unhandled rejection with the app logger and keeps serving', async () => {
    const { host, logger, app } = setUp();
    host.emit('unhandledRejection', new Error('Reached the max retries per request limit'));
    await settle();
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('max retries'), expect.any(String), 'Process');
    expect(app.close).not.toHaveBeenCalled();
    expect(host.exit).not.toHaveBeenCalled();
  });

  it('closes the app and exits 1 after an uncaught exception', async () => {
    const { host, logger, app } = setUp();
    host.emit('uncaughtException', new TypeError('boom'));
    await settle();
    expect(logger.error).toHaveBeenCalledWith('Uncaught exception: boom', expect.any(String), 'Process');
    expect(app.close).toHaveBeenCalledTimes(1);
    expect(host.exit).toHaveBeenCalledWith(1);
  });

  it('closes once and exits 0 on SIGTERM', async () => {
    const { host, app } = setUp();
    host.emit('SIGTERM');
    host.emit('uncaughtException', new Error('while closing'));
    await settle();
    expect(app.close).toHaveBeenCalledTimes(1);
    expect(host.exit).toHaveBeenCalledWith(0);
  });
});
