import { parseAppConfig } from '@app/config';
import { ConnectionLimits } from './connection-limits';

describe('ConnectionLimits', () => {
  const limits = () =>
    new ConnectionLimits(parseAppConfig({ WS_MAX_SOCKETS_PER_USER: '2', WS_MAX_SOCKETS_PER_IP: '3', WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '4' }));

  it('caps attempts per address per second, and only that address', () => {
    const subject = limits();
    expect(Array.from({ length: 5 }, () => subject.allowAttempt('1.1.1.1', 1000))).toEqual([true, true, true, true, false]);
    expect(subject.allowAttempt('2.2.2.2', 1000)).toBe(true);
    expect(subject.allowAttempt('1.1.1.1', 2000)).toBe(true);
  });

  it('caps open sockets per user and per address, and frees a slot once', () => {
    const subject = limits();
    const first = subject.admit('1.1.1.1', 'alice');
    expect(first.admitted).toBe(true);
    expect(subject.admit('1.1.1.1', 'alice').admitted).toBe(true);
    expect(subject.admit('1.1.1.1', 'alice')).toEqual({ admitted: false, reason: 'too many sockets for this user' });
    expect(subject.admit('1.1.1.1', 'bob').admitted).toBe(true);
    expect(subject.admit('1.1.1.1', 'carol')).toEqual({ admitted: false, reason: 'too many sockets from this address' });
    if (first.admitted) {
      first.release();
      first.release();
    }
    expect(subject.admit('1.1.1.1', 'carol').admitted).toBe(true);
    // The per-user cap counts alice's sockets from every address.
    expect(subject.admit('9.9.9.9', 'alice').admitted).toBe(true);
    expect(subject.admit('8.8.8.8', 'alice').admitted).toBe(false);
  });
});
