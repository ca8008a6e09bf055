import {
  Body,
  Controller,
  HttpCode,
  HttpStatus,
  Logger,
  Param,
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
import { UserIdPipe } from '../http/user-id.pipe';
import { PublisherAuthGuard } from '../publish/publisher-auth.guard';
import { DisconnectAccepted, DisconnectUserBody, RevokeAccepted } from './disconnect-user.body';
import { UserSessions } from './user-sessions.service';

const DEFAULT_REASON = 'disconnected by the server';

/** Ending a user's sessions, for services (a logout, a ban, a password change) and admins. */
@ApiTags('sessions')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid service token or access token' })
@ApiForbiddenResponse({ description: 'An access token without admin rights' })
@ApiBadRequestResponse({ description: '`message` says which parameter is invalid and why' })
@Controller('api/users/:user_id')
@UseGuards(PublisherAuthGuard)
export class SessionsController {
  private readonly logger = new Logger(SessionsController.name);

  constructor(private readonly sessions: UserSessions) {}

  @Post('disconnect')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Close every socket of a user, on every gateway, with 4003 and the reason',
    description: 'Tokens stay valid: the user may connect again (use revoke_tokens to log out everywhere).',
  })
  @ApiAcceptedResponse({ type: DisconnectAccepted })
  @ApiServiceUnavailableResponse({ description: 'Redis could not be reached: the gateways were not told' })
  async disconnect(
    @Param('user_id', UserIdPipe) userId: string,
    @Body() body: DisconnectUserBody,
  ): Promise<DisconnectAccepted> {
    try {
      const gateways = await this.sessions.disconnect(userId, body.reason ?? DEFAULT_REASON);
      this.logger.log({ msg: 'Disconnect requested', userId, gateways });
      return { user_id: userId, gateways };
    } catch (error) {
      this.logger.warn({ msg: 'Disconnect failed', userId, error: (error as Error).message });
      throw new ServiceUnavailableException('The gateways could not be told (Redis unreachable); retry');
    }
  }

  @Post('revoke_tokens')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Log a user out everywhere',
    description:
      "Tokens of the user issued before now (`iat`, whole seconds: this second's included; a token without `iat`) " +
      'are refused from now on at the handshake (401), at `refresh` and by the REST API, on every gateway, and every ' +
      'open socket of the user is closed with 4003. Stored in Postgres: survives restarts.',
  })
  @ApiAcceptedResponse({ type: RevokeAccepted })
  @ApiServiceUnavailableResponse({ description: 'Postgres could not be reached: nothing was revoked' })
  async revokeTokens(@Param('user_id', UserIdPipe) userId: string): Promise<RevokeAccepted> {
    try {
      const cutoff = await this.sessions.revokeTokens(userId);
      this.logger.log({ msg: 'Tokens revoked', userId, cutoff });
      return { user_id: userId, tokens_issued_before: new Date(cutoff * 1000).toISOString() };
    } catch (error) {
      this.logger.warn({ msg: 'Revoking tokens failed', userId, error: (error as Error).message });
      throw new ServiceUnavailableException('The revocation could not be stored; retry');
    }
  }
}
