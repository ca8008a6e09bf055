import { ApiPropertyOptional } from '@nestjs/swagger';
import { TaskStatus } from '@app/contracts';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { WholeNumber } from '../http/whole-number';

/** `GET /api/admin/stats`: the window the charts cover, in minutes up to now. */
export class StatsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 5, maximum: 1440, default: 60 })
  @IsOptional()
  @WholeNumber(5, 1440)
  minutes = 60;
}

/** `GET /api/admin/tasks`: the most recent results, with loose filters for people typing. */
export class RecentTasksQuery {
  @ApiPropertyOptional({ enum: Object.values(TaskStatus) })
  @IsOptional()
  @IsIn(Object.values(TaskStatus))
  status?: TaskStatus;
  @ApiPropertyOptional({ maxLength: 255, description: 'A part of the task name, any case' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  name?: string;
  @ApiPropertyOptional({
    maxLength: 64,
    description:
      'A part of task_kwargs (plain messages: {"user_id":42,...}) or task_args (Celery: its argsrepr), any case',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  user?: string;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @WholeNumber(1, 200)
  limit = 50;
}
