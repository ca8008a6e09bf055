import { Module } from '@nestjs/common';
import { CeleryBroker } from './celery-broker';
import { LamportClock } from './lamport-clock';
import { TaskActivity } from './task-activity';

/**
 * The worker as a Celery node: its name, logical clock, what it is doing, and the connection its
 * remote control and events go out on. The task consumer reports to it; control and events read it.
 */
@Module({
  providers: [CeleryBroker, TaskActivity, { provide: LamportClock, useFactory: () => new LamportClock() }],
  exports: [CeleryBroker, TaskActivity, LamportClock],
})
export class CeleryNodeModule {}
