import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DependencyChecks } from '@app/health';
import { QueuePublisher } from '@app/publishing';

/**
 * Liveness says the process serves HTTP and checks nothing else, so a broken dependency never gets
 * every gateway restarted at once; readiness says this instance can do its work (200 or 503 with
 * the failing dependency under `error`), so a load balancer sends it traffic only then.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyChecks,
    private readonly publisher: QueuePublisher,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves HTTP; no dependency is checked' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Postgres, Redis and RabbitMQ reachable; 503 naming the one that is not' })
  ready() {
    return this.health.check([this.checks.postgres(), this.checks.redis(), this.checks.rabbitmq(this.publisher)]);
  }
}
