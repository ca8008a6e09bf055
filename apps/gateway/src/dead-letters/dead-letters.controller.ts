import { Body, Controller, Get, HttpCode, Post, Query, Req, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AdminGuard, JwtAuthGuard } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import { DeadLetterActions } from './dead-letter-actions.service';
import { DeadLetterSelectionBody, DeadLetterView, ListDeadLettersQuery } from './dead-letters.dto';

type AdminRequest = { user: AuthenticatedUser };
type Outcome = { requeued?: number; discarded?: number; ids: string[]; not_found: string[] };

/** The worker's dead-letter queue for an admin: list, requeue to the task queue, discard. */
@ApiTags('dead letters')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@Controller('api/admin/dead_letters')
@UseGuards(JwtAuthGuard, AdminGuard)
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLetterActions) {}

  @Get()
  @ApiOperation({ summary: 'The messages at the head of the dead-letter queue, without taking them off it' })
  @ApiOkResponse({ description: '`{queue, total, messages}`; `preview` is null unless `reveal=true`' })
  list(
    @Req() { user }: AdminRequest,
    @Query() query: ListDeadLettersQuery,
  ): Promise<{ queue: string; total: number; messages: DeadLetterView[] }> {
    return this.deadLetters.list(user.userId, query.limit, query.reveal);
  }

  @Post('requeue')
  @HttpCode(200)
  @ApiOperation({ summary: 'Publish the chosen messages to the task queue again, with their task ids' })
  @ApiOkResponse({ description: '`{requeued, ids, not_found}`' })
  async requeue(@Req() { user }: AdminRequest, @Body() body: DeadLetterSelectionBody): Promise<Outcome> {
    const { done, notFound } = await this.deadLetters.requeue(user.userId, body.toSelection());
    return { requeued: done.length, ids: done, not_found: notFound };
  }

  @Post('discard')
  @HttpCode(200)
  @ApiOperation({ summary: 'Remove the chosen messages for good' })
  @ApiOkResponse({ description: '`{discarded, ids, not_found}`' })
  async discard(@Req() { user }: AdminRequest, @Body() body: DeadLetterSelectionBody): Promise<Outcome> {
    const { done, notFound } = await this.deadLetters.discard(user.userId, body.toSelection());
    return { discarded: done.length, ids: done, not_found: notFound };
  }
}
