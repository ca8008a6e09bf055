import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
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
import { PublisherAuthGuard } from '../publish/publisher-auth.guard';
import { BroadcastAccepted, BroadcastBody } from './broadcast.body';
import { BroadcastService } from './broadcast.service';

/** Announcements to every connected user (a maintenance notice), for admins and publishing services. */
@ApiTags('broadcast')
@ApiBearerAuth()
@Controller('api/broadcast')
@UseGuards(PublisherAuthGuard)
export class BroadcastController {
  constructor(private readonly broadcasts: BroadcastService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Announce a message to every connected user',
    description:
      'Stores the broadcast (kept BROADCAST_RETENTION_SECONDS, in no inbox) and sends every socket on every gateway `{"event":"broadcast","id","created_at","message"}`. A client that reconnects with `broadcast_since` is sent those it missed within the retention window.',
  })
  @ApiAcceptedResponse({ type: BroadcastAccepted, description: 'Stored; on its way to every socket' })
  @ApiBadRequestResponse({
    description: '`message` is missing, nests too deep or is over MAX_MESSAGE_BYTES, or the body has another field',
  })
  @ApiUnauthorizedResponse({ description: 'No valid service token or access token' })
  @ApiForbiddenResponse({ description: 'An access token without admin rights' })
  @ApiServiceUnavailableResponse({ description: 'The database did not store it: nothing was sent; retry' })
  broadcast(@Body() body: BroadcastBody): Promise<BroadcastAccepted> {
    return this.broadcasts.broadcast(body.message);
  }
}
