import { parseAppConfig } from '@app/config';
import { ConnectionLimits, MAX_TRACKED_ADDRESSES, clientAddressKey } from './connection-limits';

const ATTEMPTS_PER_SECOND = 4;

describe('ConnectionLimits', () => {
  const limits = () =>
    new ConnectionLimits(
      parseAppConfig({
        WS_MAX_SOCKETS_PER_USER: '2',
        WS_MAX_SOCKETS_PER_IP: '3',
        WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: String(ATTEMPTS_PER_SECOND),
      }),
    );
  /** `count` distinct IPv4 addresses, none of them 1.1.1.1. */
  const sprayed = (count: number) =>
    Array.from({ length: count }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const attempts = (subject: ConnectionLimits, addresses: string[], now: number) =>
    addresses.map((address) => subject.allowAttempt(address, now));

  it('caps attempts per address per second, and only that address', () => {
    const subject = limits();
    expect(Array.from({ length: 5 }, () => subject.allowAttempt('1.1.1.1', 1000))).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
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
    expect(subject.admit('1.1.1.1', 'carol')).toEqual({
      admitted: false,
      reason: 'too many sockets from this address',
    });
    if (first.admitted) {
      first.release();
      first.release();
    }
    expect(subject.admit('1.1.1.1', 'carol').admitted).toBe(true);
    // The per-user cap counts alice's sockets from every address.
    expect(subject.admit('9.9.9.9', 'alice').admitted).toBe(true);
    expect(subject.admit('8.8.8.8', 'alice').admitted).toBe(false);
  });

  describe('IPv6 clients, counted by their /64', () => {
    const oneSlash64 = [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:0000:0000:0000:0009',
      '2001:DB8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:a:b:c:d',
      '2001:db8:1:2::5',
    ];

    it('share one attempt budget per /64, however each address is written', () => {
      const subject = limits();
      expect(attempts(subject, oneSlash64, 1000)).toEqual([true, true, true, true, false]);
      expect(subject.allowAttempt('2001:db8:1:3::1', 1000)).toBe(true); // the next /64
    });

    it('share one open-socket cap per /64', () => {
      const subject = limits();
      expect(oneSlash64.slice(0, 4).map((address, i) => subject.admit(address, `user-${i}`).admitted)).toEqual([
        true,
        true,
        true,
        false,
      ]);
      expect(subject.admit('2001:db8:1:3::1', 'user-9').admitted).toBe(true);
    });

    it('count an IPv4-mapped address (::ffff:a.b.c.d) as its IPv4 address', () => {
      const subject = limits();
      expect(
        attempts(subject, ['1.2.3.4', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:102:304', '1.2.3.4'], 1000),
      ).toEqual([true, true, true, true, false]);
    });
  });

  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['64:ff9b::1.2.3.4', '64:ff9b:0:0::/64'],
    ['unknown', 'unknown'],
  ])('keys %s as %s', (address, key) => {
    expect(clientAddressKey(address)).toBe(key);
  });

  describe(`attempt counts in bounded memory (${MAX_TRACKED_ADDRESSES} addresses)`, () => {
    it('keeps a flooding address refused while other addresses are sprayed past the bound', () => {
      const subject = limits();
      expect(attempts(subject, Array(5).fill('1.1.1.1'), 1000)).toEqual([true, true, true, true, false]);
      attempts(subject, sprayed(MAX_TRACKED_ADDRESSES + 10), 1000);
      expect(subject.allowAttempt('1.1.1.1', 1000)).toBe(false);
      expect(subject.trackedAddresses).toBeLessThanOrEqual(MAX_TRACKED_ADDRESSES);
    });

    it('refuses new addresses for the rest of a second that filled it, and lets them in the next', () => {
      const subject = limits();
      const addresses = sprayed(MAX_TRACKED_ADDRESSES);
      expect(attempts(subject, addresses, 1000).every(Boolean)).toBe(true);
      expect(subject.allowAttempt('1.1.1.1', 1999)).toBe(false);
      expect(subject.allowAttempt(addresses[0], 1999)).toBe(true); // already counted this second
      expect(subject.allowAttempt('1.1.1.1', 2000)).toBe(true);
      expect(subject.trackedAddresses).toBeLessThanOrEqual(MAX_TRACKED_ADDRESSES);
    });

    it('makes room by forgetting past seconds only, keeping this second counts', () => {
      const subject = limits();
      attempts(subject, sprayed(MAX_TRACKED_ADDRESSES - 1), 1000);
      expect(attempts(subject, Array(5).fill('1.1.1.1'), 2000)).toEqual([true, true, true, true, false]);
      expect(subject.allowAttempt('2.2.2.2', 2000)).toBe(true); // the map was full: last second's entries went
      expect(subject.trackedAddresses).toBe(2);
      expect(subject.allowAttempt('1.1.1.1', 2000)).toBe(false);
    });

    it('still makes room after the clock went back', () => {
      const subject = limits();
      attempts(subject, sprayed(MAX_TRACKED_ADDRESSES), 5000);
      expect(subject.allowAttempt('1.1.1.1', 1000)).toBe(true);
    });
  });
});
