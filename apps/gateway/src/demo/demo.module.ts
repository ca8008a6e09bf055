import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { DemoTokenController } from './demo-token.controller';

/**
 * The demo page's development helper: `POST /api/demo/token`. With NODE_ENV=production the
 * controller is not registered at all, so the route does not exist (404).
 */
@Module({})
export class DemoModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: DemoModule, controllers: config.NODE_ENV === 'production' ? [] : [DemoTokenController] };
  }
}
