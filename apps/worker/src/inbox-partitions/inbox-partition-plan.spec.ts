import { MIN_PARTITION_SPAN, partitionSpan, partitionsToCreate } from './inbox-partition-plan';

describe('partitionSpan', () => {
  const hour = 3_600_000;

  it('spans the ids of the last period, or of the last interval scaled to a period, whichever is more', () => {
    const day = { periodMs: 24 * hour, intervalMs: hour };
    expect(partitionSpan({ ...day, idsInLastPeriod: 50_000_000, idsInLastInterval: 1_000_000 })).toBe(50_000_000);
    expect(partitionSpan({ ...day, idsInLastPeriod: 50_000_000, idsInLastInterval: 5_000_000 })).toBe(120_000_000);
  });

  it('never spans fewer than the minimum, as for an inbox that had no notification yet', () => {
    expect(partitionSpan({ periodMs: hour, intervalMs: hour, idsInLastPeriod: 0, idsInLastInterval: 0 })).toBe(
      MIN_PARTITION_SPAN,
    );
  });
});

describe('partitionsToCreate', () => {
  const first = { name: 'notification_inbox_from_min', from: null, to: 101, detachPending: false };
  const next = { name: 'notification_inbox_from_101', from: 101, to: 201, detachPending: false };
  const after = { name: 'notification_inbox_from_201', from: 201, to: 301, detachPending: false };

  it('creates none while two partitions of a span lie ahead of the last id', () => {
    expect(partitionsToCreate([first, next, after], 100, 100)).toEqual([]);
  });

  it('opens the next one once the last id enters a partition ahead', () => {
    expect(partitionsToCreate([first, next, after], 101, 100)).toEqual([{ from: 301, to: 401 }]);
  });

  it('opens more when the span grew and the partitions ahead hold fewer ids than two spans', () => {
    expect(partitionsToCreate([first, next, after], 100, 150)).toEqual([{ from: 301, to: 451 }]);
  });

  it('covers ids that outran every partition, then two spans beyond them', () => {
    expect(partitionsToCreate([first], 500, 100)).toEqual([
      { from: 101, to: 601 },
      { from: 601, to: 701 },
      { from: 701, to: 801 },
    ]);
  });
});
