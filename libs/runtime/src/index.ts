export { closeOnShutdownSignals } from './graceful-shutdown';
export { LoggingModule, redactUrl } from './logging.module';
