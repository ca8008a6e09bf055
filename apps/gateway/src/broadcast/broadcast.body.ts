import { ApiProperty } from '@nestjs/swagger';
import { MAX_MESSAGE_DEPTH, nestsDeeperThan } from '@app/contracts';
import { ValidateBy } from 'class-validator';

/** `POST /api/broadcast` body. */
export class BroadcastBody {
  // Any JSON value, null included, as `POST /api/publish` takes it; only a missing one is refused.
  // The body nests one level above the message: the same limit as a plain AMQP body.
  @ApiProperty({
    description: `The announcement, any JSON value nesting at most ${MAX_MESSAGE_DEPTH - 1} levels and at most MAX_MESSAGE_BYTES as JSON; delivered to every socket exactly as given`,
    example: { text: 'Maintenance at 22:00 UTC' },
  })
  @ValidateBy({
    name: 'isBroadcastMessage',
    validator: {
      validate: (value) => value !== undefined && !nestsDeeperThan(value, MAX_MESSAGE_DEPTH - 1),
      defaultMessage: (args) =>
        args?.value === undefined
          ? 'message is required (any JSON value)'
          : `message nests deeper than ${MAX_MESSAGE_DEPTH - 1} levels`,
    },
  })
  message!: unknown;
}

export class BroadcastAccepted {
  @ApiProperty({
    description:
      'The broadcast id: grows with every broadcast; clients resume after the highest one they saw (broadcast_since)',
    example: 17,
  })
  id!: number;

  @ApiProperty({ description: 'When it was stored, as in its frame', example: '2026-12-03T07:00:00.000Z' })
  created_at!: string;
}
