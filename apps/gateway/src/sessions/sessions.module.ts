import { Global, Module } from '@nestjs/common';
import { RevokedTokens } from '@app/auth';
import { FanoutModule } from '@app/fanout';
import { PersistenceModule } from '@app/persistence';
import { NotificationsModule } from '../notifications/notifications.module';
import { PublishModule } from '../publish/publish.module';
import { SessionsController } from './sessions.controller';
import { TokenCutoffs } from './token-cutoffs';
import { UserSessions } from './user-sessions.service';

/**
 * Disconnect and "log out everywhere". Global for one export: `RevokedTokens`, which the auth
 * library's strategy and token verifier ask on every token (libs cannot import this app).
 */
@Global()
@Module({
  imports: [FanoutModule, PersistenceModule, NotificationsModule, PublishModule],
  controllers: [SessionsController],
  providers: [TokenCutoffs, { provide: RevokedTokens, useExisting: TokenCutoffs }, UserSessions],
  exports: [RevokedTokens],
})
export class SessionsModule {}
