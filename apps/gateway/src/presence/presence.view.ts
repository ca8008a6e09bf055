import { ApiProperty } from '@nestjs/swagger';
import type { UserPresence } from '@app/fanout';

export class UserPresenceView implements UserPresence {
  @ApiProperty({ example: '42' })
  user_id!: string;
  @ApiProperty({ description: 'At least one socket open on a live gateway' })
  online!: boolean;
  @ApiProperty({ description: 'Open sockets over every live gateway' })
  sockets!: number;
  @ApiProperty({ description: 'Gateways holding at least one of them' })
  gateways!: number;
}

export class PresenceList {
  @ApiProperty({ type: [UserPresenceView] })
  results!: UserPresenceView[];
}
