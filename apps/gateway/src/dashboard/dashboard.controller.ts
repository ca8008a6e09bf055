import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminGuard, JwtAuthGuard } from '@app/auth';
import { TaskResultView } from '../tasks/task-result.view';
import { RecentTasksQuery, StatsQuery } from './dashboard.queries';
import { DashboardService, DashboardStats } from './dashboard.service';

/** The admin dashboard's data (`/admin/`): 401 without a token, 403 for a non-admin one. */
@ApiTags('admin dashboard')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@Controller('api/admin')
@UseGuards(JwtAuthGuard, AdminGuard)
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('stats')
  @ApiOperation({ summary: 'Results by status per minute, throughput, latency, sockets and dead-lettered messages' })
  @ApiOkResponse({
    description: '`{generated_at, window, series, totals, throughput_per_minute, latency_ms, sockets, dead_letter}`',
  })
  stats(@Query() query: StatsQuery): Promise<DashboardStats> {
    return this.dashboard.stats(query.minutes);
  }

  @Get('tasks')
  @ApiOperation({
    summary: 'The most recent results, newest first, filtered by status, a part of the name or of the arguments (user)',
  })
  @ApiOkResponse({ description: '`{results}` with django-celery-results field names' })
  async tasks(@Query() query: RecentTasksQuery): Promise<{ results: TaskResultView[] }> {
    return { results: await this.dashboard.recentTasks(query) };
  }
}
