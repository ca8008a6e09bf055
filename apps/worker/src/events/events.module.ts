import { Module } from '@nestjs/common';
import { CeleryNodeModule } from '../celery-node/celery-node.module';
import { CeleryEventDispatcher } from './celery-event-dispatcher';

/** Celery's event stream (Flower, `celery events`): see `CeleryEventDispatcher`. */
@Module({
  imports: [CeleryNodeModule],
  providers: [CeleryEventDispatcher],
  exports: [CeleryEventDispatcher],
})
export class EventsModule {}
