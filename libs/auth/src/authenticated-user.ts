import { UserId } from '@app/contracts';

/** Who a verified access token speaks for. Set as `request.user` by the `jwt` strategy. */
export interface AuthenticatedUser {
  userId: UserId;
  isAdmin: boolean;
  /** When the token expires (ms since the epoch): a socket opened with it is closed then. */
  expiresAt: number;
}
