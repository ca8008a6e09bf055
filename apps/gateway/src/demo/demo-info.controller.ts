import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { demoMintState } from './demo-mint-state';
import type { DemoMintState } from './demo-mint-state';

/** The demo page's probe: whether it can offer the token mint, and if not, why. */
@ApiExcludeController()
@Controller('api/demo')
export class DemoInfoController {
  private readonly state: DemoMintState;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.state = demoMintState(config);
  }

  @Get()
  info(): DemoMintState {
    return this.state;
  }
}
