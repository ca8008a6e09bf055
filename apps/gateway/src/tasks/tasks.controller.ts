import { Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
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
@Controller('api/tasks')
@UseGuards(JwtAuthGuard, AdminGuard)
export class TasksController {
  constructor(private readonly results: TaskResultRepository) {}

  @Get()
  async list(@Query() query: ListTasksQuery): Promise<TaskResultPage> {
    const { total, items } = await this.results.search(query.toFilter());
    return { count: total, page: query.page, page_size: query.page_size, results: items.map(toTaskResultView) };
  }

  @Get(':task_id')
  async get(@Param('task_id') taskId: string): Promise<TaskResultView> {
    const row = taskId.length <= 255 ? await this.results.findByTaskId(taskId) : null;
    if (!row) throw new NotFoundException(`No result for task ${JSON.stringify(taskId.slice(0, 255))}`);
    return toTaskResultView(row);
  }
}
