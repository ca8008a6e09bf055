import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminGuard, JwtAuthGuard } from '@app/auth';
import { DeferredTaskRepository } from '@app/persistence';
import { IsOptional } from 'class-validator';
import { WholeNumber } from '../http/whole-number';

export class ListScheduledTasksQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 })
  @IsOptional()
  @WholeNumber(1, 1_000_000)
  page = 1;
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @WholeNumber(1, 500)
  page_size = 50;
}

export interface ScheduledTaskView {
  task_id: string;
  task_name: string | null;
  eta: string;
  expires: string | null;
  deferred_at: string;
}

/**
 * Celery tasks whose eta was too far ahead to hold in a worker's memory, stored until they come
 * due (Celery's `inspect scheduled`, for the ones in Postgres). A task here has no result row yet:
 * `GET /api/tasks/:task_id` answers 404 (PENDING) for it.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@Controller('api/scheduled_tasks')
@UseGuards(JwtAuthGuard, AdminGuard)
export class ScheduledTasksController {
  constructor(private readonly deferred: DeferredTaskRepository) {}

  @Get()
  @ApiOperation({ summary: 'Deferred tasks waiting for their eta, soonest first' })
  @ApiOkResponse({
    description: '`{count, page, page_size, results: [{task_id, task_name, eta, expires, deferred_at}]}`',
  })
  async list(
    @Query() query: ListScheduledTasksQuery,
  ): Promise<{ count: number; page: number; page_size: number; results: ScheduledTaskView[] }> {
    const { total, items } = await this.deferred.list((query.page - 1) * query.page_size, query.page_size);
    const results = items.map((task) => ({
      task_id: task.taskId,
      task_name: task.taskName,
      eta: task.eta.toISOString(),
      expires: task.expires?.toISOString() ?? null,
      deferred_at: task.deferredAt.toISOString(),
    }));
    return { count: total, page: query.page, page_size: query.page_size, results };
  }
}
