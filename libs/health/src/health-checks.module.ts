import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { DependencyChecks } from './dependency-checks';

/** Terminus plus the dependency checks, over the app's own Postgres pool and Redis connection. */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), PersistenceModule, FanoutModule],
  providers: [DependencyChecks],
  exports: [TerminusModule, DependencyChecks],
})
export class HealthChecksModule {}
