/**
 * Celery's logical clock (kombu's `LamportClock`): every control reply and event carries it, and
 * `celery events` and Flower order what they see by it. Each message sent moves it forward; each
 * one received moves it past the sender's.
 */
export class LamportClock {
  private value = 0;

  forward(): number {
    return ++this.value;
  }

  adjust(other: unknown): number {
    const theirs = typeof other === 'number' && Number.isFinite(other) ? other : 0;
    this.value = Math.max(this.value, theirs) + 1;
    return this.value;
  }

  current(): number {
    return this.value;
  }
}
