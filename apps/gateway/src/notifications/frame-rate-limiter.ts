export type FrameVerdict = 'accept' | 'refuse' | 'close';

/**
 * A token bucket per socket: `perSecond` frames a second, with bursts up to the same number. A
 * frame over the limit is refused (the client gets an error frame); a client that keeps sending
 * at twice the limit after that is closed.
 */
export class FrameRateLimiter {
  private tokens: number;
  private refusedInARow = 0;
  private last: number;

  constructor(
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.tokens = perSecond;
    this.last = now;
  }

  take(now = Date.now()): FrameVerdict {
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refusedInARow = 0;
      return 'accept';
    }
    return ++this.refusedInARow > this.perSecond ? 'close' : 'refuse';
  }
}
