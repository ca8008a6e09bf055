import type { InboxPartition } from '@app/persistence';

/** Whole partitions kept open beyond the one the next id goes to. */
export const PARTITIONS_AHEAD = 2;
/**
 * Never fewer ids to a partition: a quiet inbox's partitions then cover more than a period, but a
 * sudden surge has at least PARTITIONS_AHEAD × this many ids to fill before the next pass.
 */
export const MIN_PARTITION_SPAN = 1_000_000;

export interface IdRange {
  from: number;
  to: number;
}

/**
 * How many ids a new partition spans: those of one period at the rate of the last period, or at
 * the rate of the last interval (a surge shows there first), and never fewer than the minimum.
 */
export function partitionSpan(rate: {
  idsInLastPeriod: number;
  idsInLastInterval: number;
  periodMs: number;
  intervalMs: number;
}): number {
  const surge = Math.ceil((rate.idsInLastInterval * rate.periodMs) / rate.intervalMs);
  return Math.max(MIN_PARTITION_SPAN, rate.idsInLastPeriod, surge);
}

/**
 * The partitions to create after `partitions` (oldest first) so that PARTITIONS_AHEAD of them lie
 * beyond `lastId`, with at least PARTITIONS_AHEAD × `span` ids free. Contiguous with the last one;
 * if ids ever outran it, the first new one also covers the ids up to `lastId`.
 */
export function partitionsToCreate(partitions: InboxPartition[], lastId: number, span: number): IdRange[] {
  let from = partitions.at(-1)?.to ?? lastId + 1;
  let ahead = partitions.filter((partition) => partition.from !== null && partition.from > lastId).length;
  const ranges: IdRange[] = [];
  while (ahead < PARTITIONS_AHEAD || from - lastId - 1 < PARTITIONS_AHEAD * span) {
    const to = Math.max(from, lastId + 1) + span;
    ranges.push({ from, to });
    if (from > lastId) ahead += 1;
    from = to;
  }
  return ranges;
}
