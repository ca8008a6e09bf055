import { Global, Module } from '@nestjs/common';
import { parseAppConfig } from './app-config';
import type { AppConfig } from './app-config';

/** Injection token for the validated {@link AppConfig}. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * Reads the environment once. `forRoot()` takes an already-parsed config so that `main.ts` can
 * fail fast before Nest starts, and tests can pass their own.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig = parseAppConfig(process.env)) {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
