import { parseAppConfig } from '@app/config';
import { MetricsRegistry } from '@app/metrics';
import type { InboxPartition, InboxPartitions, NotificationRepository } from '@app/persistence';
import { InboxPartitionMaintainer } from './inbox-partition-maintainer';
import { MIN_PARTITION_SPAN } from './inbox-partition-plan';

const DAY_MS = 86_400_000;
const now = new Date('2026-12-02T00:00:00Z');

/** Partitions of a million ids: the first two old, the third current (holds the last id 2,500,000). */
function fakeSession() {
  const partitions: InboxPartition[] = [
    { name: 'notification_inbox_from_min', from: null, to: 1_000_001, detachPending: false },
    { name: 'notification_inbox_from_1000001', from: 1_000_001, to: 2_000_001, detachPending: false },
    { name: 'notification_inbox_from_2000001', from: 2_000_001, to: 3_000_001, detachPending: false },
  ];
  const newest: Record<string, Date> = {
    notification_inbox_from_min: new Date(now.getTime() - 40 * DAY_MS),
    notification_inbox_from_1000001: new Date(now.getTime() - 20 * DAY_MS),
    notification_inbox_from_2000001: new Date(now.getTime() - 40 * DAY_MS), // out of order, still current
  };
  return {
    partitions,
    list: jest.fn(async () => [...partitions]),
    lastId: jest.fn(async () => 2_500_000),
    newestCreatedAt: jest.fn(async (partition: InboxPartition) => newest[partition.name] ?? null),
    create: jest.fn(async (from: number, to: number) => {
      partitions.push({ name: `notification_inbox_from_${from}`, from, to, detachPending: false });
      return `notification_inbox_from_${from}`;
    }),
    drop: jest.fn(async (partition: InboxPartition) => {
      partitions.splice(partitions.indexOf(partition), 1);
    }),
  };
}

function maintainerOf(env: Record<string, string>, session = fakeSession(), lockHeld = false) {
  const partitions = {
    maintain: jest.fn(async (work: (s: unknown) => Promise<unknown>) => (lockHeld ? null : work(session))),
  };
  const inbox = { lastIdCreatedBefore: jest.fn().mockResolvedValue(2_500_000) };
  const maintainer = new InboxPartitionMaintainer(
    partitions as unknown as InboxPartitions,
    inbox as unknown as NotificationRepository,
    parseAppConfig(env),
    new MetricsRegistry('worker'),
  );
  return { maintainer, session, partitions, inbox };
}

describe('InboxPartitionMaintainer', () => {
  it('opens partitions ahead, then drops the expired ones oldest first up to the first one kept', async () => {
    const { maintainer, session } = maintainerOf({ NOTIFICATION_RETENTION_DAYS: '30' });
    expect(await maintainer.runOnce(now)).toEqual({
      created: ['notification_inbox_from_3000001', 'notification_inbox_from_4000001'],
      dropped: ['notification_inbox_from_min'],
    });
    expect(session.create.mock.calls).toEqual([
      [3_000_001, 3_000_001 + MIN_PARTITION_SPAN],
      [4_000_001, 4_000_001 + MIN_PARTITION_SPAN],
    ]);
    expect(session.newestCreatedAt).not.toHaveBeenCalledWith(session.partitions[1]); // the current one
  });

  it('sizes partitions from the ids of the last interval when they came faster than in the period', async () => {
    const { maintainer, session, inbox } = maintainerOf({
      NOTIFICATION_RETENTION_DAYS: '30',
      NOTIFICATION_PARTITION_HOURS: '24',
      NOTIFICATION_RETENTION_INTERVAL_SECONDS: '3600',
    });
    inbox.lastIdCreatedBefore.mockResolvedValueOnce(1_000_000).mockResolvedValueOnce(2_400_000);
    await maintainer.runOnce(now);
    expect(inbox.lastIdCreatedBefore.mock.calls).toEqual([
      [new Date(now.getTime() - DAY_MS)],
      [new Date(now.getTime() - 3600_000)],
    ]);
    expect(session.create).toHaveBeenCalledWith(3_000_001, 3_000_001 + 2_400_000); // 100,000 an hour
  });

  it('with NOTIFICATION_RETENTION_DAYS=0 still opens partitions ahead but drops none', async () => {
    const { maintainer, session } = maintainerOf({ NOTIFICATION_RETENTION_DAYS: '0' });
    expect(await maintainer.runOnce(now)).toMatchObject({ dropped: [] });
    expect(session.create).toHaveBeenCalled();
    expect(session.drop).not.toHaveBeenCalled();
  });

  it('does nothing while another worker holds the maintenance lock', async () => {
    const { maintainer, session } = maintainerOf({}, fakeSession(), true);
    expect(await maintainer.runOnce(now)).toBeNull();
    expect(session.list).not.toHaveBeenCalled();
  });

  it('reports a failed pass as null and keeps going', async () => {
    const { maintainer, session } = maintainerOf({ NOTIFICATION_RETENTION_DAYS: '30' });
    session.create.mockRejectedValueOnce(new Error('lock timeout'));
    expect(await maintainer.runOnce(now)).toBeNull();
    expect(await maintainer.runOnce(now)).not.toBeNull();
  });

  describe('schedule', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('runs a pass on start and every NOTIFICATION_RETENTION_INTERVAL_SECONDS, and none after the module is destroyed', async () => {
      const { maintainer, partitions } = maintainerOf({ NOTIFICATION_RETENTION_INTERVAL_SECONDS: '60' });
      maintainer.onApplicationBootstrap();
      await jest.advanceTimersByTimeAsync(59_000);
      expect(partitions.maintain).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1000);
      expect(partitions.maintain).toHaveBeenCalledTimes(2);
      await maintainer.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(600_000);
      expect(partitions.maintain).toHaveBeenCalledTimes(2);
    });
  });
});
