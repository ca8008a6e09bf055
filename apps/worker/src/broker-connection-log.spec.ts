import type { LoggerService } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { BrokerConnectionEvents, logBrokerConnection } from './broker-connection-log';

function fakeConnection(): EventEmitter & BrokerConnectionEvents {
  return Object.assign(new EventEmitter(), { reconnectTimeInSeconds: 5 });
}

function recordingLogger() {
  return { log: jest.fn(), warn: jest.fn(), error: jest.fn() } satisfies LoggerService;
}

describe('logBrokerConnection', () => {
  it('warns at every failed attempt with the broker without credentials and the next retry', () => {
    const connection = fakeConnection();
    const logger = recordingLogger();
    logBrokerConnection(connection, logger);

    const refused = new Error('connect ECONNREFUSED 127.0.0.1:5999');
    connection.emit('connectFailed', { err: refused, url: 'amqp://guest:s3cret@127.0.0.1:5999' });
    connection.emit('connectFailed', { err: refused, url: 'amqp://guest:s3cret@127.0.0.1:5999' });

    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(logger.warn).toHaveBeenLastCalledWith(
      expect.objectContaining({
        broker: 'amqp://127.0.0.1:5999',
        error: 'connect ECONNREFUSED 127.0.0.1:5999',
        attempt: 2,
        retryInSeconds: 5,
      }),
    );
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain('s3cret');
  });

  it('says a timed-out attempt is retried at once, as amqp-connection-manager does', () => {
    const connection = fakeConnection();
    const logger = recordingLogger();
    logBrokerConnection(connection, logger);
    connection.emit('connectFailed', { err: new Error('connect ETIMEDOUT'), url: 'amqp://10.0.0.1' });
    expect(logger.warn).toHaveBeenCalledWith(expect.objectContaining({ retryInSeconds: 0 }));
  });

  it('logs the connection, and the lost connection at warn', () => {
    const connection = fakeConnection();
    const logger = recordingLogger();
    logBrokerConnection(connection, logger);
    connection.emit('connect', { url: 'amqp://guest:guest@127.0.0.1:5672' });
    connection.emit('disconnect', { err: new Error('CONNECTION_FORCED - broker forced connection closure') });
    expect(logger.log).toHaveBeenCalledWith(expect.objectContaining({ broker: 'amqp://127.0.0.1:5672' }));
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ error: 'CONNECTION_FORCED - broker forced connection closure', retryInSeconds: 5 }),
    );
  });
});
