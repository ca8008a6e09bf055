import { ApiPropertyOptional } from '@nestjs/swagger';
import { TaskStatus } from '@app/contracts';
import type { TaskResultFilter, TaskResultOrder } from '@app/persistence';
import { IsIn, IsISO8601, IsOptional, IsString, MaxLength } from 'class-validator';
import { WholeNumber } from '../http/whole-number';

const ORDERINGS: TaskResultOrder[] = ['-date_done', 'date_done', '-date_created', 'date_created'];
export const MAX_PAGE_SIZE = 500;
const MAX_PAGE = 1_000_000;

/**
 * `GET /api/tasks` query. Unknown parameters are refused (400) rather than ignored, so a typo in a
 * filter never silently returns everything. Date bounds are ISO-8601: `_after` inclusive,
 * `_before` exclusive.
 */
export class ListTasksQuery {
  @ApiPropertyOptional({ enum: Object.values(TaskStatus), description: 'Only results in this Celery state' })
  @IsOptional()
  @IsIn(Object.values(TaskStatus))
  status?: TaskStatus;
  @ApiPropertyOptional({ maxLength: 255, description: 'Only results of this task name' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  task_name?: string;
  @ApiPropertyOptional({ maxLength: 100, description: 'Only results recorded by this worker' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  worker?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'date_created at or after (inclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  date_created_after?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'date_created before (exclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  date_created_before?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'date_done at or after (inclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  date_done_after?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'date_done before (exclusive)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  date_done_before?: string;
  @ApiPropertyOptional({ enum: ORDERINGS, default: '-date_done' })
  @IsOptional()
  @IsIn(ORDERINGS)
  ordering: TaskResultOrder = '-date_done';
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 1 })
  @IsOptional()
  @WholeNumber(1, MAX_PAGE)
  page = 1;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 })
  @IsOptional()
  @WholeNumber(1, MAX_PAGE_SIZE)
  page_size = 50;

  toFilter(): TaskResultFilter {
    const date = (value?: string) => (value === undefined ? undefined : new Date(value));
    return {
      status: this.status,
      taskName: this.task_name,
      worker: this.worker,
      dateCreatedFrom: date(this.date_created_after),
      dateCreatedTo: date(this.date_created_before),
      dateDoneFrom: date(this.date_done_after),
      dateDoneTo: date(this.date_done_before),
      ordering: this.ordering,
      offset: (this.page - 1) * this.page_size,
      limit: this.page_size,
    };
  }
}
