import { DynamicModule, Module } from '@nestjs/common';
import { HealthChecksModule } from '@app/health';
import type { AmqpConnectionState } from '@app/health';
import { AMQP_CONSUMER, HealthController } from './health.controller';

@Module({})
export class HealthModule {
  static forRoot(consumer: AmqpConnectionState): DynamicModule {
    return {
      module: HealthModule,
      imports: [HealthChecksModule],
      controllers: [HealthController],
      providers: [{ provide: AMQP_CONSUMER, useValue: consumer }],
    };
  }
}
