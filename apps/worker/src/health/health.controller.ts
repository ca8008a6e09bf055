import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DependencyChecks } from '@app/health';
import type { AmqpConnectionState } from '@app/health';

/** The task queue consumer's connection, as the worker factory hands it in. */
export const AMQP_CONSUMER = Symbol('AMQP_CONSUMER');

/**
 * The worker's probes, on its own small HTTP port: liveness checks nothing but the process;
 * readiness checks Postgres, Redis and the consumer's own broker connection (503 naming the one
 * that is down), so it reports what this worker can actually do.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyChecks,
    @Inject(AMQP_CONSUMER) private readonly consumer: AmqpConnectionState,
  ) {}

  @Get('live')
  @HealthCheck({ swaggerDocumentation: false })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  ready() {
    return this.health.check([this.checks.postgres(), this.checks.redis(), this.checks.rabbitmq(this.consumer)]);
  }
}
