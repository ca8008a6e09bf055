import { DynamicModule, Module, Type } from '@nestjs/common';
import type { DemoConfig } from '@app/config';
import { DemoInfoController } from './demo-info.controller';
import { demoMintState } from './demo-mint-state';
import { DemoTokenController } from './demo-token.controller';

/**
 * The demo page's helpers. `POST /api/demo/token` is registered only when the mint is on
 * (DEMO_TOKEN_MINT=true, an HMAC secret); otherwise the route does not exist (404). `GET /api/demo`
 * tells the page which it is, outside production; with NODE_ENV=production neither route exists.
 */
@Module({})
export class DemoModule {
  static forRoot(config: DemoConfig): DynamicModule {
    return { module: DemoModule, controllers: demoControllers(config) };
  }
}

function demoControllers(config: DemoConfig): Type[] {
  if (config.NODE_ENV === 'production') return [];
  return demoMintState(config).mint ? [DemoInfoController, DemoTokenController] : [DemoInfoController];
}
