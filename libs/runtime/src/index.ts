export type { SupervisedProcess } from './process-supervisor';
export { superviseProcess } from './process-supervisor';
export { LoggingModule, redactUrl } from './logging.module';
export { urlWithoutCredentials } from './service-url';
