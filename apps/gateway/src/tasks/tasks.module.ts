import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PersistenceModule } from '@app/persistence';
import { ScheduledTasksController } from './scheduled-tasks.controller';
import { TasksController } from './tasks.controller';

@Module({
  imports: [AuthModule, PersistenceModule],
  controllers: [TasksController, ScheduledTasksController],
})
export class TasksModule {}
