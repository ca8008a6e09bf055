import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { AdminGuard, JwtAuthGuard } from '@app/auth';
import { PublishApiConfig } from '@app/config';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Lets through a request carrying one of `PUBLISH_API_TOKENS` as its bearer token (services), or
 * else an admin's access token: 401 without a valid token, 403 for a non-admin one, as the rest of
 * the REST API. Tokens are compared as SHA-256 digests with `timingSafeEqual`, so neither the
 * comparison time nor the token lengths tell an attacker how close a guess was.
 */
@Injectable()
export class PublisherAuthGuard implements CanActivate {
  private readonly serviceTokens: Buffer[];

  constructor(
    config: PublishApiConfig,
    private readonly jwt: JwtAuthGuard,
    private readonly admin: AdminGuard,
  ) {
    this.serviceTokens = config.PUBLISH_API_TOKENS.map(digest);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { authorization } = context.switchToHttp().getRequest<IncomingMessage>().headers;
    const bearer = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    if (bearer !== undefined && this.isServiceToken(bearer)) return true;
    await this.jwt.canActivate(context);
    return this.admin.canActivate(context);
  }

  private isServiceToken(token: string): boolean {
    const candidate = digest(token);
    // Every configured token is compared, so the time taken does not say which one matched.
    return this.serviceTokens.reduce((found, known) => timingSafeEqual(candidate, known) || found, false);
  }
}
