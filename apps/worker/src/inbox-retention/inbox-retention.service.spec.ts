import { parseAppConfig } from '@app/config';
import type { NotificationRepository } from '@app/persistence';
import { InboxRetentionService } from './inbox-retention.service';

describe('InboxRetentionService', () => {
  const inbox = () => ({
    lastIdCreatedBefore: jest.fn().mockResolvedValue(5000),
    deleteUpTo: jest.fn().mockResolvedValueOnce(1000).mockResolvedValueOnce(3),
  });

  it('deletes nothing with NOTIFICATION_RETENTION_DAYS=0, even when a pass is asked for by hand', async () => {
    const repository = inbox();
    const retention = new InboxRetentionService(
      repository as unknown as NotificationRepository,
      parseAppConfig({ NOTIFICATION_RETENTION_DAYS: '0' }),
    );
    expect(await retention.runOnce()).toBe(0);
    expect(repository.lastIdCreatedBefore).not.toHaveBeenCalled();
    expect(repository.deleteUpTo).not.toHaveBeenCalled();
  });

  it('deletes what is older than the retention, batch by batch, up to the newest expired id', async () => {
    const repository = inbox();
    const retention = new InboxRetentionService(
      repository as unknown as NotificationRepository,
      parseAppConfig({ NOTIFICATION_RETENTION_DAYS: '30' }),
    );
    const now = new Date('2026-12-02T00:00:00Z');
    expect(await retention.runOnce(now)).toBe(1003);
    expect(repository.lastIdCreatedBefore).toHaveBeenCalledWith(new Date('2026-11-02T00:00:00Z'));
    expect(repository.deleteUpTo.mock.calls).toEqual([
      [5000, 1000],
      [5000, 1000],
    ]);
  });

  describe('schedule', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    const started = (env: Record<string, string>) => {
      const repository = inbox();
      const retention = new InboxRetentionService(repository as unknown as NotificationRepository, parseAppConfig(env));
      retention.onApplicationBootstrap();
      return { repository, retention };
    };

    it('with NOTIFICATION_RETENTION_DAYS=0 starts no timer and never deletes', async () => {
      const { repository, retention } = started({ NOTIFICATION_RETENTION_DAYS: '0' });
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(7 * 86400_000);
      expect(repository.lastIdCreatedBefore).not.toHaveBeenCalled();
      await retention.onModuleDestroy();
    });

    it('runs a pass every NOTIFICATION_RETENTION_INTERVAL_SECONDS, and none after the module is destroyed', async () => {
      const { repository, retention } = started({
        NOTIFICATION_RETENTION_DAYS: '30',
        NOTIFICATION_RETENTION_INTERVAL_SECONDS: '60',
      });
      await jest.advanceTimersByTimeAsync(59_000);
      expect(repository.lastIdCreatedBefore).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1000);
      expect(repository.lastIdCreatedBefore).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(repository.lastIdCreatedBefore).toHaveBeenCalledTimes(2);
      await retention.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(600_000);
      expect(repository.lastIdCreatedBefore).toHaveBeenCalledTimes(2);
    });
  });
});
