interface Pending {
  event: string;
  resolve(frame: AnswerFrame): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export interface AnswerFrame {
  event: string;
  data?: unknown;
  ref?: unknown;
}

/** A request the server refused: `code` is the error frame's (`invalid_data`, `rate_limited`, `unavailable`...). */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'RequestError';
  }
}

/**
 * Requests in flight, each under its own `ref`, answered by the frame that carries that ref:
 * answers may come in any order, a late one (after its timeout) finds nothing and is dropped.
 */
export class PendingRequests {
  private readonly pending = new Map<string, Pending>();
  private next = 0;

  /** A new ref and the promise of its answer frame (rejected with a RequestError for an error frame). */
  open(event: string, timeoutMs: number): { ref: string; answer: Promise<AnswerFrame> } {
    const ref = `${event[0]}${++this.next}`;
    const answer = new Promise<AnswerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new Error(`No answer to ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(ref, { event, resolve, reject, timer });
    });
    return { ref, answer };
  }

  /** The event a ref was opened for, while it waits. */
  eventOf(ref: unknown): string | undefined {
    return typeof ref === 'string' ? this.pending.get(ref)?.event : undefined;
  }

  /** Settles the request the frame answers; false when it answers none that waits. */
  settle(frame: AnswerFrame): boolean {
    const pending = typeof frame.ref === 'string' ? this.pending.get(frame.ref) : undefined;
    if (!pending) return false;
    this.pending.delete(frame.ref as string);
    clearTimeout(pending.timer);
    if (frame.event === 'error') {
      const { code, message } = (frame.data ?? {}) as { code?: string; message?: string };
      pending.reject(new RequestError(code ?? 'error', message ?? ''));
    } else {
      pending.resolve(frame);
    }
    return true;
  }

  cancel(ref: string, error: Error): void {
    const pending = this.pending.get(ref);
    if (!pending) return;
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  /** Every waiting request of `event` (all when omitted) fails with `error`. */
  failAll(error: Error, event?: string): void {
    for (const [ref, pending] of [...this.pending]) {
      if (event === undefined || pending.event === event) this.cancel(ref, error);
    }
  }
}
