export type { AppConfig } from './app-config';
export { InvalidConfigError, loadAppConfig, parseAppConfig } from './app-config';
export { APP_CONFIG, ConfigModule } from './config.module';
