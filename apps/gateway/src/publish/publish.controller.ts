import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  HttpStatus,
  Logger,
  Post,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { PublishApiConfig } from '@app/config';
import { normalizeUserIdList } from '@app/contracts';
import { QueuePublisher } from '@app/publishing';
import { PublishAccepted, PublishNotificationBody } from './publish-notification.body';
import { PublisherAuthGuard } from './publisher-auth.guard';

/**
 * Publishing over HTTP for services that cannot speak AMQP. Answers 202 once the broker has
 * confirmed the message, like Celery's `delay()`: the task is queued, not yet run, and its id is
 * the one its result row will carry.
 */
@ApiTags('publish')
@ApiBearerAuth()
@Controller('api/publish')
@UseGuards(PublisherAuthGuard)
export class PublishController {
  private readonly logger = new Logger(PublishController.name);

  constructor(
    private readonly publisher: QueuePublisher,
    private readonly config: PublishApiConfig,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Queue a notification for a user, or for a list of users',
    description:
      "Publishes `{user_id, message}` (or `{user_ids, message}`: one task for up to MAX_RECIPIENTS users) to the task queue with publisher confirms. `GET /api/tasks/{task_id}` answers 404 until the worker has run the task (no row yet: Celery's PENDING), then shows its result: `{notification_id, group}` for one user, `{count, groups, more?}` for a list (the first 10 groups; `more` counts the rest).",
  })
  @ApiAcceptedResponse({ type: PublishAccepted, description: 'The broker has the message' })
  @ApiBadRequestResponse({
    description:
      '`message` lists each invalid field and why: user_id and user_ids both or neither, an empty or too long user_ids, a bad or repeated id in it',
  })
  @ApiUnauthorizedResponse({ description: 'No valid service token or access token' })
  @ApiForbiddenResponse({ description: 'An access token without admin rights' })
  @ApiServiceUnavailableResponse({
    description: 'The broker did not confirm the message in time: it may not be queued; retry with the same task_id',
  })
  async publish(@Body() body: PublishNotificationBody): Promise<PublishAccepted> {
    if (body.user_ids !== undefined) this.checkUserIds(body.user_ids);
    try {
      const taskId = await this.publisher.publish({
        userId: body.user_id,
        // As given, as user_id is: the task's kwargs show what the publisher sent.
        userIds: body.user_ids as Array<number | string> | undefined,
        message: body.message,
        taskId: body.task_id,
      });
      return { task_id: taskId, status: 'PENDING' };
    } catch (error) {
      this.logger.warn(`Publish failed: ${(error as Error).message}`);
      throw new ServiceUnavailableException('The message queue did not confirm the message; retry');
    }
  }

  /** A list the worker would refuse is a 400 here, with the worker's reason (the same rule, the same words). */
  private checkUserIds(userIds: unknown): void {
    const list = normalizeUserIdList(userIds, this.config.MAX_RECIPIENTS);
    if (!list.ok) throw new BadRequestException([list.reason]);
  }
}
