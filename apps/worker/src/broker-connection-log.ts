import type { LoggerService } from '@nestjs/common';
import { urlWithoutCredentials } from '@app/runtime';

/** The events of amqp-connection-manager's connection this log listens to (a fake in the unit test). */
export interface BrokerConnectionEvents {
  readonly reconnectTimeInSeconds: number;
  on(event: 'connect', listener: (event: { url: unknown }) => void): unknown;
  on(event: 'connectFailed', listener: (event: { err: Error; url: unknown }) => void): unknown;
  on(event: 'disconnect', listener: (event: { err: Error }) => void): unknown;
}

/**
 * Says at warn every time the broker cannot be reached, where the worker looked (the URL without
 * its credentials) and when it tries again: Nest's transport says it once at most, and not at all
 * while the app's logs are still buffered, so a worker without its broker was silent.
 */
export function logBrokerConnection(connection: BrokerConnectionEvents, logger: LoggerService): void {
  let failedAttempts = 0;
  const retryInSeconds = (error: Error) =>
    // amqp-connection-manager retries a timed-out connect at once, anything else after its delay.
    error.message === 'connect ETIMEDOUT' ? 0 : connection.reconnectTimeInSeconds;
  connection.on('connectFailed', ({ err, url }) => {
    failedAttempts += 1;
    logger.warn({
      msg: `RabbitMQ unreachable at ${brokerOf(url)}: ${err.message}; retrying in ${retryInSeconds(err)} s`,
      broker: brokerOf(url),
      error: err.message,
      attempt: failedAttempts,
      retryInSeconds: retryInSeconds(err),
    });
  });
  connection.on('connect', ({ url }) => {
    logger.log({ msg: `Connected to RabbitMQ at ${brokerOf(url)}`, broker: brokerOf(url), failedAttempts });
    failedAttempts = 0;
  });
  connection.on('disconnect', ({ err }) => {
    logger.warn({
      msg: `Lost the RabbitMQ connection; reconnecting in ${connection.reconnectTimeInSeconds} s`,
      error: err?.message,
      retryInSeconds: connection.reconnectTimeInSeconds,
    });
  });
}

/** amqp-connection-manager reports the URL it tried as given: a string, or an options object. */
function brokerOf(url: unknown): string {
  if (typeof url === 'string') return urlWithoutCredentials(url);
  const { hostname, port } = (url ?? {}) as { hostname?: string; port?: number };
  return `amqp://${hostname ?? '?'}:${port ?? 5672}`;
}
