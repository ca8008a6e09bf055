import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { AuthenticatedUser } from './authenticated-user';
import { JWT_STRATEGY } from './jwt.strategy';

/** 401 unless the request carries a valid access token. */
@Injectable()
export class JwtAuthGuard extends AuthGuard(JWT_STRATEGY) {}

/** 403 unless the token marks staff; use after `JwtAuthGuard`. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    if (!user?.isAdmin) throw new ForbiddenException('Admin access required');
    return true;
  }
}
