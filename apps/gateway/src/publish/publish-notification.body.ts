import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import { IsOptional, IsString, Length, ValidateBy } from 'class-validator';
import { AnyJsonValue } from '../http/any-json-value';

/** The task id becomes the result row's `task_id`, a varchar(255) column. */
const MAX_TASK_ID_LENGTH = 255;

const USER_ID_SCHEMA = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
  ],
};

/** Why `user_id` cannot stand as given, or null: it names the one user, unless `user_ids` names a list. */
function userIdProblem(body: PublishNotificationBody): string | null {
  const { user_id: userId, user_ids: userIds } = body;
  if (userId !== undefined && userIds !== undefined) return 'give user_id or user_ids, not both';
  if (userId === undefined && userIds === undefined) return 'user_id (or user_ids) is required';
  if (userId !== undefined && normalizeUserId(userId) === null) return `user_id must be ${USER_ID_RULE}`;
  return null;
}

/**
 * `POST /api/publish` body: the plain message any publisher may send (README, AMQP messages). The
 * `user_ids` list is checked against MAX_RECIPIENTS by the controller, with the worker's rule.
 */
export class PublishNotificationBody {
  @ApiPropertyOptional({
    description: `The recipient: ${USER_ID_RULE}. Required unless user_ids is given`,
    ...USER_ID_SCHEMA,
    example: 42,
  })
  @ValidateBy({
    name: 'isUserIdOrList',
    validator: {
      validate: (_, args) => userIdProblem(args!.object as PublishNotificationBody) === null,
      defaultMessage: (args) => userIdProblem(args!.object as PublishNotificationBody)!,
    },
  })
  user_id?: number | string;

  @ApiPropertyOptional({
    description:
      'Instead of user_id: the recipients, 1 to MAX_RECIPIENTS (default 1,000) user ids, none twice (7 and "7" are the same user). ' +
      'One task, one result row; one inbox row and one notification per user',
    type: 'array',
    items: USER_ID_SCHEMA,
    minItems: 1,
    example: [42, 'alice'],
  })
  @IsOptional()
  user_ids?: unknown;

  @ApiProperty({
    description: 'The notification, any JSON value; delivered to the sockets exactly as given',
    example: { text: 'hello' },
  })
  @AnyJsonValue()
  message!: unknown;

  @ApiPropertyOptional({
    description: 'The task id to use (the AMQP message_id); a UUID when absent',
    maxLength: MAX_TASK_ID_LENGTH,
  })
  @IsOptional()
  @IsString()
  @Length(1, MAX_TASK_ID_LENGTH)
  task_id?: string;
}

export class PublishAccepted {
  @ApiProperty({
    description: 'The id of the task; GET /api/tasks/{task_id} shows its result once the worker has run it',
  })
  task_id!: string;

  @ApiProperty({ enum: ['PENDING'], description: "Celery's state for a task no worker has reported on yet" })
  status!: 'PENDING';
}
