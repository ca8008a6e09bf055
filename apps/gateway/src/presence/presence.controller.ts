import { Controller, Get, Param, Query, ServiceUnavailableException, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { UserPresence } from '@app/fanout';
import { UserIdPipe } from '../http/user-id.pipe';
import { ClusterPresence } from '../notifications/cluster-presence';
import { GatewayMetrics } from '../notifications/gateway-metrics';
import { PublisherAuthGuard } from '../publish/publisher-auth.guard';
import { PresenceQuery } from './presence.query';
import { PresenceList, UserPresenceView } from './presence.view';

/** Is a user online right now, on any gateway (to choose between a live notification and an email)? */
@ApiTags('presence')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid service token or access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@ApiBadRequestResponse({ description: '`message` says which parameter is invalid and why' })
@ApiServiceUnavailableResponse({ description: 'Redis could not be reached' })
@Controller('api/presence')
@UseGuards(PublisherAuthGuard)
export class PresenceController {
  constructor(
    private readonly presence: ClusterPresence,
    private readonly metrics: GatewayMetrics,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Presence of several users, in the order asked' })
  @ApiOkResponse({ type: PresenceList })
  async list(@Query() query: PresenceQuery): Promise<PresenceList> {
    this.metrics.presenceLookups.inc({ kind: 'list' });
    return { results: await this.lookup(query.user_ids) };
  }

  @Get(':user_id')
  @ApiOperation({ summary: "A user's open sockets, counted over every live gateway" })
  @ApiOkResponse({ type: UserPresenceView })
  async one(@Param('user_id', UserIdPipe) userId: string): Promise<UserPresence> {
    this.metrics.presenceLookups.inc({ kind: 'user' });
    return (await this.lookup([userId]))[0];
  }

  private async lookup(userIds: string[]): Promise<UserPresence[]> {
    try {
      return await this.presence.lookup(userIds);
    } catch {
      throw new ServiceUnavailableException('Presence is kept in Redis, which could not be reached; retry');
    }
  }
}
