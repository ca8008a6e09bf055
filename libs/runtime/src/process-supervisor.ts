import type { LoggerService } from '@nestjs/common';

/** What ends the process, decided here and nowhere else. */
export interface SupervisedProcess {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  once(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
}

/**
 * Runs the app until it is told to stop, and decides in one place what ends the process:
 * - SIGTERM/SIGINT: the app closes (sockets 1001, the worker drains) and the process exits 0, or 1
 *   when closing fails or outlasts `timeoutMs`. Used instead of `enableShutdownHooks()` because
 *   that path disposes servers only after the destroy hooks have closed the database, which
 *   would cut off work still in flight.
 * - An unhandled rejection is logged and the process keeps serving: it is a promise nobody waited
 *   for (a Redis command failing during an outage, say), which leaves nothing half done, and
 *   ending the process over it would drop every other user's socket. Each one is a defect to fix.
 * - An uncaught exception is logged, then the app closes as for SIGTERM and the process exits 1:
 *   it was thrown out of the middle of something, and what that left behind cannot be trusted.
 */
export function superviseProcess(
  app: { close(): Promise<void> },
  logger: LoggerService,
  timeoutMs: number,
  host: SupervisedProcess = process,
): void {
  let closing = false;
  const shutdown = (why: string, exitCode: 0 | 1) => {
    if (closing) return;
    closing = true;
    logger.log(`${why}; shutting down`, 'Shutdown');
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${timeoutMs} ms; exiting`, undefined, 'Shutdown');
      host.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => host.exit(exitCode),
      (error: Error) => {
        logger.error(`Shutdown failed: ${error.message}`, error.stack, 'Shutdown');
        host.exit(1);
      },
    );
  };
  host.once('SIGTERM', () => shutdown('Received SIGTERM', 0));
  host.once('SIGINT', () => shutdown('Received SIGINT', 0));
  host.on('unhandledRejection', (reason) => {
    const error = reason as { message?: unknown; stack?: unknown } | null;
    logger.error(
      `Unhandled promise rejection: ${String(error?.message ?? reason)}`,
      typeof error?.stack === 'string' ? error.stack : undefined,
      'Process',
    );
  });
  host.on('uncaughtException', (error) => {
    logger.error(`Uncaught exception: ${error?.message}`, error?.stack, 'Process');
    shutdown('Uncaught exception', 1);
  });
}
