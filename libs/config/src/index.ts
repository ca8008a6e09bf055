export type { AppConfig } from './app-config';
export { InvalidConfigError, parseAppConfig } from './app-config';
export { APP_CONFIG, ConfigModule } from './config.module';
