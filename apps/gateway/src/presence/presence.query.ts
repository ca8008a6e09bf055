import { ApiProperty } from '@nestjs/swagger';
import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateBy } from 'class-validator';

/** The most users one presence question may name. */
export const MAX_PRESENCE_USERS = 500;

/** `GET /api/presence?user_ids=1,2,3` */
export class PresenceQuery {
  @ApiProperty({
    description: `Comma-separated user ids (1-${MAX_PRESENCE_USERS}), each ${USER_ID_RULE}`,
    type: String,
    example: '1,2,3',
  })
  @Transform(({ value }) => (typeof value === 'string' ? [...new Set(value.split(',').map((id) => id.trim()))] : value))
  @IsArray({ message: 'user_ids must be given once, as a comma-separated list' })
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PRESENCE_USERS, { message: `user_ids may name at most ${MAX_PRESENCE_USERS} users` })
  @ValidateBy({
    name: 'areUserIds',
    validator: {
      validate: (value) => Array.isArray(value) && value.every((id) => normalizeUserId(id) !== null),
      defaultMessage: () => `each of user_ids must be ${USER_ID_RULE}`,
    },
  })
  user_ids!: string[];
}
