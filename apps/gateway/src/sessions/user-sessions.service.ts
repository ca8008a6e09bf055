import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { GatewayCommand, SocketCloseCode, gatewayCommandFrame, parseGatewayCommand } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { GroupSubscriptions } from '../notifications/group-subscriptions';
import { TokenCutoffs } from './token-cutoffs';

export const LOGGED_OUT_REASON = 'logged out everywhere';

/**
 * Ends a user's sessions on every gateway: the gateway a REST call reached publishes a command on
 * the fan-out's control channel, and each gateway (itself included) closes the user's sockets it
 * holds with 4003. A gateway holding none has nothing to do.
 */
@Injectable()
export class UserSessions implements OnModuleInit {
  private readonly logger = new Logger(UserSessions.name);

  constructor(
    private readonly fanout: RedisFanout,
    private readonly groups: GroupSubscriptions,
    private readonly cutoffs: TokenCutoffs,
  ) {}

  onModuleInit(): void {
    this.fanout.listenControl((text) => {
      const command = parseGatewayCommand(text);
      if (command) this.apply(command);
      else this.logger.warn({ msg: 'Ignored a malformed gateway command', bytes: text.length });
    });
  }

  /** Resolves to how many gateways heard it; rejects when Redis could not be reached. */
  disconnect(userId: string, reason: string): Promise<number> {
    return this.fanout.publishControl(gatewayCommandFrame({ type: 'disconnect', user_id: userId, reason }));
  }

  /**
   * Stores the cut-off first: once this resolves, every gateway refuses the old tokens, at once if it
   * hears the command, else at its next read of the cut-offs. Resolves to the cut-off (seconds).
   */
  async revokeTokens(userId: string): Promise<number> {
    const cutoff = await this.cutoffs.revoke(userId);
    this.closeSockets(userId, LOGGED_OUT_REASON);
    await this.fanout
      .publishControl(gatewayCommandFrame({ type: 'revoke_tokens', user_id: userId, cutoff }))
      .catch((error: Error) =>
        this.logger.warn({ msg: 'Telling the other gateways of a revocation failed', userId, error: error.message }),
      );
    return cutoff;
  }

  private apply(command: GatewayCommand): void {
    if (command.type === 'revoke_tokens') {
      this.cutoffs.learn(command.user_id, command.cutoff);
      this.closeSockets(command.user_id, LOGGED_OUT_REASON);
    } else {
      this.closeSockets(command.user_id, command.reason);
    }
  }

  private closeSockets(userId: string, reason: string): void {
    const closed = this.groups.closeUser(userId, SocketCloseCode.Disconnected, reason);
    if (closed > 0) this.logger.log({ msg: 'Disconnected a user', userId, sockets: closed, reason });
  }
}
