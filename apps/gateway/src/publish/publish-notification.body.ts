import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import { IsOptional, IsString, Length, ValidateBy } from 'class-validator';

/** The task id becomes the result row's `task_id`, a varchar(255) column. */
const MAX_TASK_ID_LENGTH = 255;

/** `POST /api/publish` body: the plain message any publisher may send (README, AMQP messages). */
export class PublishNotificationBody {
  @ApiProperty({
    description: `The recipient: ${USER_ID_RULE}`,
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
    ],
    example: 42,
  })
  @ValidateBy({
    name: 'isUserId',
    validator: {
      validate: (value) => normalizeUserId(value) !== null,
      defaultMessage: () => `user_id must be ${USER_ID_RULE}`,
    },
  })
  user_id!: number | string;

  // Any JSON value, null included, as the worker accepts it; only a missing one is refused.
  @ApiProperty({
    description: 'The notification, any JSON value; delivered to the sockets exactly as given',
    example: { text: 'hello' },
  })
  @ValidateBy({
    name: 'isPresent',
    validator: {
      validate: (value) => value !== undefined,
      defaultMessage: () => 'message is required (any JSON value)',
    },
  })
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
