import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DemoConfig } from '@app/config';
import { demoMintState } from './demo-mint-state';
import type { DemoMintState } from './demo-mint-state';

/** The demo page's probe: whether it can offer the token mint, and if not, why. */
@ApiExcludeController()
@Controller('api/demo')
export class DemoInfoController {
  private readonly state: DemoMintState;

  constructor(config: DemoConfig) {
    this.state = demoMintState(config);
  }

  @Get()
  info(): DemoMintState {
    return this.state;
  }
}
