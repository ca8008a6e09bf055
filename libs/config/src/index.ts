export type { AppConfig } from './app-config';
export { APP_CONFIG_KEYS, InvalidConfigError, loadAppConfig, parseAppConfig } from './app-config';
export {
  AmqpConfig,
  CeleryNodeConfig,
  DatabaseConfig,
  DeferredTaskConfig,
  DemoConfig,
  HttpConfig,
  InboxRetentionConfig,
  JwtConfig,
  PublishApiConfig,
  RedisConfig,
  ResultCleanupConfig,
  RuntimeConfig,
  WebSocketConfig,
  WorkerConfig,
} from './config-slices';
export { ConfigModule } from './config.module';
