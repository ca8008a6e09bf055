import { Module } from '@nestjs/common';
import { PersistenceModule } from '@app/persistence';
import { CeleryNodeModule } from '../celery-node/celery-node.module';
import { EventsModule } from '../events/events.module';
import { ControlCommands, SHUTDOWN_REQUEST } from './control-commands';
import { PidboxMailbox } from './pidbox-mailbox';
import { RevokedTasks } from './revoked-tasks';

/**
 * Celery's remote control: `celery inspect`/`celery control` and Flower's commands answered on
 * the pidbox (`PidboxMailbox`, `ControlCommands`), and the revokes every worker honours
 * (`RevokedTasks`, which the task consumer asks).
 */
@Module({
  imports: [CeleryNodeModule, EventsModule, PersistenceModule],
  providers: [
    PidboxMailbox,
    ControlCommands,
    RevokedTasks,
    { provide: SHUTDOWN_REQUEST, useValue: () => process.kill(process.pid, 'SIGTERM') },
  ],
  exports: [RevokedTasks],
})
export class ControlModule {}
