import { ApiProperty } from '@nestjs/swagger';
import { MAX_MESSAGE_DEPTH } from '@app/contracts';
import { AnyJsonValue } from '../http/any-json-value';

/** `POST /api/broadcast` body. */
export class BroadcastBody {
  // Depth is checked on the body before parsing (refuseDeepJson), which nests one level above it.
  @ApiProperty({
    description: `The announcement, any JSON value nesting at most ${MAX_MESSAGE_DEPTH - 1} levels and at most MAX_MESSAGE_BYTES as JSON; delivered to every socket exactly as given`,
    example: { text: 'Maintenance at 22:00 UTC' },
  })
  @AnyJsonValue()
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
