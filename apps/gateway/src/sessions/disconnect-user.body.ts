import { ApiPropertyOptional } from '@nestjs/swagger';
import { MAX_CLOSE_REASON_BYTES } from '@app/contracts';
import { IsOptional, IsString, ValidateBy } from 'class-validator';

/** `POST /api/users/:user_id/disconnect` body. */
export class DisconnectUserBody {
  @ApiPropertyOptional({
    description: `Sent as the close frame's reason (at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8)`,
    example: 'account suspended',
  })
  @IsOptional()
  @IsString()
  @ValidateBy({
    name: 'fitsCloseFrame',
    validator: {
      validate: (value) => typeof value === 'string' && Buffer.byteLength(value) <= MAX_CLOSE_REASON_BYTES,
      defaultMessage: () => `reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8 (a close frame's limit)`,
    },
  })
  reason?: string;
}

export class DisconnectAccepted {
  @ApiPropertyOptional({ description: 'The user whose sockets are being closed' })
  user_id!: string;
  @ApiPropertyOptional({ description: 'Gateways that received the command (each closes the sockets it holds)' })
  gateways!: number;
}

export class RevokeAccepted {
  @ApiPropertyOptional({ description: 'The user logged out everywhere' })
  user_id!: string;
  @ApiPropertyOptional({ description: 'Tokens issued before this moment are refused (ISO-8601)' })
  tokens_issued_before!: string;
}
