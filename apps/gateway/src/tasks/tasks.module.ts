import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PersistenceModule } from '@app/persistence';
import { TasksController } from './tasks.controller';

@Module({
  imports: [AuthModule, PersistenceModule],
  controllers: [TasksController],
})
export class TasksModule {}
