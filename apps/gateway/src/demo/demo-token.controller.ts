import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { JwtConfig } from '@app/config';
import { USER_ID_RULE, normalizeUserId } from '@app/contracts';
import { IsDefined, IsInt, IsOptional, Max, Min } from 'class-validator';
import jwt from 'jsonwebtoken';

export class MintDemoTokenBody {
  /** A user id as the service accepts it (an integer or a short string). */
  @IsDefined() user_id!: unknown;
  /** The token's lifetime; short ones show the page refreshing its socket's token in place. */
  @IsOptional() @IsInt() @Min(20) @Max(3600) ttl_seconds?: number;
}

/** simplejwt's default access-token lifetime: the demo page refreshes it in place. */
const DEMO_TOKEN_TTL_SECONDS = 300;

/**
 * Mints an access token for any user id (five minutes unless asked otherwise), so the demo page works without a token issuer.
 * Registered only when DEMO_TOKEN_MINT=true (which the config refuses with NODE_ENV=production)
 * and the gateway holds an HMAC secret (DemoModule). Never an admin token: use
 * `npm run cli -- token 1 --admin` for the dashboard.
 */
@ApiExcludeController()
@Controller('api/demo')
export class DemoTokenController {
  constructor(private readonly config: JwtConfig) {}

  @Post('token')
  @HttpCode(201)
  mint(@Body() body: MintDemoTokenBody): { token: string; user_id: string; expires_in: number } {
    const userId = normalizeUserId(body.user_id);
    if (userId === null) throw new BadRequestException([`user_id must be ${USER_ID_RULE}`]);
    const claims = {
      user_id: /^\d+$/.test(userId) && userId.length < 16 ? Number(userId) : userId,
      token_type: 'access',
    };
    const options: jwt.SignOptions = {
      algorithm: this.config.JWT_ALGORITHM,
      expiresIn: body.ttl_seconds ?? DEMO_TOKEN_TTL_SECONDS,
    };
    if (this.config.JWT_ISSUER) options.issuer = this.config.JWT_ISSUER;
    if (this.config.JWT_AUDIENCE) options.audience = this.config.JWT_AUDIENCE;
    return {
      token: jwt.sign(claims, this.config.JWT_SECRET, options),
      user_id: userId,
      expires_in: body.ttl_seconds ?? DEMO_TOKEN_TTL_SECONDS,
    };
  }
}
