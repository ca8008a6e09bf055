import { TaskStatus } from '@app/contracts';
import type { TaskResultFilter, TaskResultOrder } from '@app/persistence';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

const ORDERINGS: TaskResultOrder[] = ['-date_done', 'date_done', '-date_created', 'date_created'];
export const MAX_PAGE_SIZE = 500;

/**
 * `GET /api/tasks` query. Unknown parameters are refused (400) rather than ignored, so a typo in a
 * filter never silently returns everything. Date bounds are ISO-8601: `_after` inclusive,
 * `_before` exclusive.
 */
export class ListTasksQuery {
  @IsOptional() @IsIn(Object.values(TaskStatus)) status?: TaskStatus;
  @IsOptional() @IsString() @MaxLength(255) task_name?: string;
  @IsOptional() @IsString() @MaxLength(100) worker?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }) date_created_after?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }) date_created_before?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }) date_done_after?: string;
  @IsOptional() @IsISO8601({ strict: true, strictSeparator: true }) date_done_before?: string;
  @IsOptional() @IsIn(ORDERINGS) ordering: TaskResultOrder = '-date_done';
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000) page = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_PAGE_SIZE) page_size = 50;

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
