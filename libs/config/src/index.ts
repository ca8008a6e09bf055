export type { AppConfig } from './app-config';
export { APP_CONFIG_KEYS, InvalidConfigError, loadAppConfig, parseAppConfig } from './app-config';
export { APP_CONFIG, ConfigModule } from './config.module';
