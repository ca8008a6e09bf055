import type { LoggerService } from '@nestjs/common';

/**
 * Closes the app on SIGTERM/SIGINT and exits 0, or 1 when closing fails or outlasts `timeoutMs`.
 * Used instead of `enableShutdownHooks()` because that path disposes servers only after the
 * destroy hooks have closed the database, which would cut off work still in flight.
 */
export function closeOnShutdownSignals(app: { close(): Promise<void> }, logger: LoggerService, timeoutMs: number): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`Received ${signal}; shutting down`, 'Shutdown');
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${timeoutMs} ms; exiting`, undefined, 'Shutdown');
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error(`Shutdown failed: ${error.message}`, error.stack, 'Shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
