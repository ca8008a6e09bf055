export type { AppConfig, ResultBackendName } from './app-config';
export { APP_CONFIG_KEYS, InvalidConfigError, RESULT_BACKEND_NAMES, loadAppConfig, parseAppConfig } from './app-config';
export {
  AmqpConfig,
  BroadcastConfig,
  CeleryNodeConfig,
  DatabaseConfig,
  DeferredTaskConfig,
  DemoConfig,
  HttpConfig,
  InboxPartitionsConfig,
  JwtConfig,
  PublishApiConfig,
  RedisConfig,
  ResultCacheConfig,
  ResultCleanupConfig,
  RuntimeConfig,
  SessionsConfig,
  SseConfig,
  WebSocketConfig,
  WorkerConfig,
} from './config-slices';
export { ConfigModule } from './config.module';
