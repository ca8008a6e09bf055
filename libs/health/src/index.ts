export type { AmqpConnectionState } from './dependency-checks';
export { DependencyChecks } from './dependency-checks';
export { HealthChecksModule } from './health-checks.module';
