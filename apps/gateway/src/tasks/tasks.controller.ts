import { Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminGuard, JwtAuthGuard } from '@app/auth';
import { TaskResultRepository } from '@app/persistence';
import { ListTasksQuery } from './list-tasks.query';
import { TaskResultView, toTaskResultView } from './task-result.view';

export interface TaskResultPage {
  count: number;
  page: number;
  page_size: number;
  results: TaskResultView[];
}

/** Task results for admins: 401 without a token, 403 for a non-admin one. */
@ApiTags('tasks')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@Controller('api/tasks')
@UseGuards(JwtAuthGuard, AdminGuard)
export class TasksController {
  constructor(private readonly results: TaskResultRepository) {}

  @Get()
  @ApiOperation({ summary: 'List task results, newest first; 400 naming an invalid or unknown parameter' })
  @ApiOkResponse({
    description: '`{count, page, page_size, results}`; results carry django-celery-results field names',
  })
  async list(@Query() query: ListTasksQuery): Promise<TaskResultPage> {
    const { total, items } = await this.results.search(query.toFilter());
    return { count: total, page: query.page, page_size: query.page_size, results: items.map(toTaskResultView) };
  }

  @Get(':task_id')
  @ApiOperation({
    summary: 'One task result',
    description: "404 while no worker has run the task: Celery's PENDING (unknown or still queued).",
  })
  @ApiOkResponse({ description: 'The result, with django-celery-results field names' })
  @ApiNotFoundResponse({ description: 'No result yet (PENDING) or unknown task' })
  async get(@Param('task_id') taskId: string): Promise<TaskResultView> {
    const row = taskId.length <= 255 ? await this.results.findByTaskId(taskId) : null;
    if (!row) throw new NotFoundException(`No result for task ${JSON.stringify(taskId.slice(0, 255))}`);
    return toTaskResultView(row);
  }
}
