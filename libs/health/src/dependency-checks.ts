import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { HealthIndicatorFunction } from '@nestjs/terminus';
import { RedisFanout } from '@app/fanout';

/** Something holding an AMQP connection that knows whether it is up (amqp-connection-manager). */
export interface AmqpConnectionState {
  isConnected(): boolean;
}

/**
 * A readiness probe must answer within the orchestrator's timeout even when a dependency hangs,
 * so every check is bounded; a check that times out reports the dependency down.
 */
const CHECK_TIMEOUT_MS = 2000;

/** The readiness checks both apps share: Postgres, Redis and RabbitMQ, each under its own key. */
@Injectable()
export class DependencyChecks {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly typeOrm: TypeOrmHealthIndicator,
    private readonly fanout: RedisFanout,
  ) {}

  postgres(): HealthIndicatorFunction {
    return () => this.typeOrm.pingCheck('postgres').withTimeout(CHECK_TIMEOUT_MS);
  }

  redis(): HealthIndicatorFunction {
    return () =>
      this.indicators
        .check('redis')
        .attempt(() => this.fanout.ping())
        .withTimeout(CHECK_TIMEOUT_MS);
  }

  /**
   * RabbitMQ is checked through the app's own connection rather than a fresh one: what matters is
   * whether this process can consume or publish, and the connection manager tracks exactly that
   * (it reconnects by itself, and says so here once it has).
   */
  rabbitmq(connection: AmqpConnectionState): HealthIndicatorFunction {
    return () => {
      const indicator = this.indicators.check('rabbitmq');
      return connection.isConnected() ? indicator.up() : indicator.down({ message: 'not connected to the broker' });
    };
  }
}
