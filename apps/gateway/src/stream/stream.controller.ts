import {
  BadRequestException,
  Controller,
  Get,
  Headers,
  HttpException,
  HttpStatus,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SseConfig } from '@app/config';
import type { Request, Response } from 'express';
import { ClientConnections } from '../notifications/client-connections';
import { parseBroadcastSince } from '../notifications/client-requests';
import { GatewayMetrics } from '../notifications/gateway-metrics';
import { HandshakeChecks } from '../notifications/handshake-checks';
import { resumePointOf } from './resume-point';
import { SseTransport } from './sse-transport';
import { StreamKeepAlive } from './stream-keepalive';

const REFUSALS: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests' };

/**
 * `GET /api/notifications/stream`: the notification socket's frames as Server-Sent Events, for
 * clients behind proxies that break WebSockets. A plain route writing to the response, not Nest's
 * `@Sse()`, which commits 200 and the stream headers before anything async can refuse: here every
 * refusal (400, 401, 403, 429) is an ordinary JSON error before any byte of the stream.
 */
@ApiTags('notifications')
@Controller('api/notifications')
export class StreamController {
  private readonly retry: string;

  constructor(
    private readonly checks: HandshakeChecks,
    private readonly connections: ClientConnections,
    private readonly keepAlive: StreamKeepAlive,
    private readonly metrics: GatewayMetrics,
    config: SseConfig,
  ) {
    this.retry = `retry: ${config.SSE_RETRY_MS}\n\n`;
  }

  @Get('stream')
  @ApiOperation({
    summary: 'The notification stream as Server-Sent Events (docs/websocket-protocol.md#server-sent-events)',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({
    name: 'token',
    required: false,
    description: 'The JWT, for clients that cannot set headers (EventSource)',
  })
  @ApiQuery({ name: 'since', required: false, description: 'Resume after this notification id' })
  @ApiQuery({
    name: 'broadcast_since',
    required: false,
    description: 'Send the broadcasts after this broadcast id first (still kept); without it, none from before',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this id; wins over since' })
  @ApiResponse({
    status: 200,
    description: 'The stream: events notification, read, connected, resumed, resume_gap, error',
  })
  @ApiResponse({ status: 400, description: 'Last-Event-ID or since is not a notification id' })
  @ApiResponse({ status: 401, description: 'No valid token' })
  @ApiResponse({ status: 403, description: 'Origin not allowed' })
  @ApiResponse({
    status: 429,
    description: 'Too many connection attempts, or connections (sockets and streams together)',
  })
  async stream(
    @Req() request: Request,
    @Res() response: Response,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Query('since') since: unknown,
    @Query('broadcast_since') broadcastSince: unknown,
  ): Promise<void> {
    const resumePoint = resumePointOf(lastEventId, since);
    if ('error' in resumePoint) throw this.refusal(new BadRequestException(resumePoint.error));
    const broadcastPoint = parseBroadcastSince(broadcastSince);
    if ('error' in broadcastPoint) throw this.refusal(new BadRequestException(broadcastPoint.error));
    const verdict = await this.checks.check(request, request.headers.origin);
    if (!verdict.admitted) {
      const body = { statusCode: verdict.status, error: REFUSALS[verdict.status], message: verdict.message };
      throw this.refusal(new HttpException(body, verdict.status));
    }
    // The headers first: a token within the clock tolerance may be past its expiry already, and
    // the connection then ends at once, with its last event.
    this.open(request, response);
    const transport = new SseTransport(response, this.metrics);
    const connection = this.connections.create(transport, verdict.user);
    response.once('close', () => {
      verdict.release();
      this.keepAlive.forget(transport);
      this.connections.closed(connection);
    });
    this.keepAlive.add(transport);
    await this.connections.start(connection, {
      since: resumePoint.since,
      broadcastSince: broadcastPoint.since,
      errors: [],
    });
  }

  private open(request: Request, response: Response): void {
    request.socket.setNoDelay(true);
    response.writeHead(HttpStatus.OK, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx buffers responses unless told not to; a buffered stream delivers nothing until it ends.
      'X-Accel-Buffering': 'no',
    });
    response.write(this.retry);
  }

  private refusal(error: HttpException): HttpException {
    this.metrics.streamRefusals.inc({ status: String(error.getStatus()) });
    return error;
  }
}
