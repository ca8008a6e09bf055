import { backoffDelay } from './backoff';
import { tokenExpired } from './notification-client';

describe('backoffDelay', () => {
  it('doubles from the initial delay, between half and all of it', () => {
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, {}, () => 0))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, {}, () => 0.999999))).toEqual([500, 1000, 2000, 4000]);
  });

  it('stops growing at the maximum', () => {
    expect(backoffDelay(30, { maxDelayMs: 10_000 }, () => 0.999999)).toBe(10_000);
    expect(backoffDelay(1000, {}, () => 0)).toBe(15_000);
  });

  it('follows the options', () => {
    expect(backoffDelay(2, { initialDelayMs: 100, factor: 3 }, () => 0.5)).toBe(675);
  });
});

describe('tokenExpired', () => {
  const token = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

  it('reads exp without verifying', () => {
    expect(tokenExpired(token({ exp: 100 }), 100_000)).toBe(true);
    expect(tokenExpired(token({ exp: 101 }), 100_000)).toBe(false);
  });

  it('says false for anything it cannot read (the server decides)', () => {
    expect(tokenExpired(token({ user_id: 1 }))).toBe(false);
    expect(tokenExpired('not-a-jwt')).toBe(false);
  });
});
