import { Global, Module } from '@nestjs/common';
import type { ValueProvider } from '@nestjs/common';
import { parseAppConfig } from './app-config';
import type { AppConfig } from './app-config';
import { CONFIG_SLICES } from './config-slices';
import type { AnyConfigSlice } from './config-slices';

/**
 * Reads the environment once. `forRoot()` takes an already-parsed config so that `main.ts` can
 * fail fast before Nest starts, and tests can pass their own.
 *
 * What it provides is the config's slices (config-slices.ts), not the whole: a class asks for the
 * slice of the capability it serves, `constructor(private readonly config: RedisConfig)`, and one
 * serving two capabilities asks for two. Each slice is a frozen copy of its keys.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig = parseAppConfig(process.env)) {
    return {
      module: ConfigModule,
      providers: CONFIG_SLICES.map((slice) => sliceProvider(config, slice)),
      exports: [...CONFIG_SLICES],
    };
  }
}

function sliceProvider(config: AppConfig, slice: AnyConfigSlice): ValueProvider {
  return { provide: slice, useValue: Object.freeze(Object.fromEntries(slice.keys.map((key) => [key, config[key]]))) };
}
