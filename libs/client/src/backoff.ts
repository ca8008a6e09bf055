import type { ReconnectOptions } from './types';

/**
 * The delay before reconnection attempt `attempt` (0 for the first): exponential, capped, with
 * "equal jitter" (a random half of the delay added to the other half), so clients that lost the
 * same gateway at once do not all come back at the same moment, and none retries at once.
 */
export function backoffDelay(
  attempt: number,
  options: ReconnectOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  const ceiling = Math.min(max, initial * Math.pow(factor, Math.min(attempt, 64)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
