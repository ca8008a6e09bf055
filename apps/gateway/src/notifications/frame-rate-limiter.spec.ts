import { FrameRateLimiter } from './frame-rate-limiter';

describe('FrameRateLimiter', () => {
  it('accepts a burst up to the rate, then refuses, then closes a flood', () => {
    const limiter = new FrameRateLimiter(5, 0);
    const verdicts = Array.from({ length: 12 }, () => limiter.take(0));
    expect(verdicts).toEqual([...Array(5).fill('accept'), ...Array(5).fill('refuse'), 'close', 'close']);
  });

  it('refills with time, so a steady client at the rate is never refused', () => {
    const limiter = new FrameRateLimiter(10, 0);
    const verdicts = Array.from({ length: 100 }, (_, i) => limiter.take(i * 100));
    expect(verdicts.every((verdict) => verdict === 'accept')).toBe(true);
  });
});
