import type { ClientConnection } from './client-connection';
import { TokenExpiryClock } from './token-expiry';

describe('TokenExpiryClock', () => {
  const connection = () =>
    ({ close: jest.fn(), expiryBucket: 0 }) as unknown as ClientConnection & { close: jest.Mock };
  let clock: TokenExpiryClock;
  beforeEach(() => (clock = new TokenExpiryClock()));
  afterEach(() => clock.onModuleDestroy());

  it('closes a socket with 4001 once its token has expired, and not before', () => {
    const now = Date.now();
    const [soon, later] = [connection(), connection()];
    clock.watch(soon, now + 2000);
    clock.watch(later, now + 60_000);
    clock.tick(now + 1000);
    expect(soon.close).not.toHaveBeenCalled();
    clock.tick(now + 3000);
    expect(soon.close).toHaveBeenCalledWith(4001, 'token expired');
    expect(later.close).not.toHaveBeenCalled();
    clock.tick(now + 61_000);
    expect(later.close).toHaveBeenCalledTimes(1);
  });

  it('closes at once a socket whose token has already expired', () => {
    const expired = connection();
    clock.watch(expired, Date.now() - 5000);
    expect(expired.close).toHaveBeenCalledWith(4001, 'token expired');
  });

  it('forgets a socket that closed before its token expired', () => {
    const now = Date.now();
    const gone = connection();
    clock.watch(gone, now + 2000);
    clock.forget(gone);
    clock.tick(now + 5000);
    expect(gone.close).not.toHaveBeenCalled();
  });

  it('catches up on every second it missed (a paused process)', () => {
    const now = Date.now();
    const connections = [connection(), connection(), connection()];
    connections.forEach((each, i) => clock.watch(each, now + (i + 2) * 1000));
    clock.tick(now + 10_000);
    for (const each of connections) expect(each.close).toHaveBeenCalledTimes(1);
  });
});
