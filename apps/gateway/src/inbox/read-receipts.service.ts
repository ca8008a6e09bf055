import { Injectable } from '@nestjs/common';
import { notificationGroup, serverFrame } from '@app/contracts';
import type { ReadReceipt } from '@app/contracts';
import { RedisFanout } from '@app/fanout';
import { NotificationRepository } from '@app/persistence';

/**
 * Marks notifications read, from a socket frame or a REST call alike, and tells every socket of
 * the user, on every gateway, through the user's group: a second tab updates its badge.
 */
@Injectable()
export class ReadReceipts {
  constructor(
    private readonly inbox: NotificationRepository,
    private readonly fanout: RedisFanout,
  ) {}

  async markRead(userId: string, ids: number[]): Promise<ReadReceipt> {
    const changed = await this.inbox.markRead(userId, ids.map(String));
    return this.announce(userId, { ids: changed.map(Number), all: false });
  }

  async markAllRead(userId: string): Promise<ReadReceipt> {
    await this.inbox.markAllRead(userId);
    return this.announce(userId, { ids: [], all: true });
  }

  private async announce(userId: string, change: Omit<ReadReceipt, 'unread_count'>): Promise<ReadReceipt> {
    const receipt: ReadReceipt = { ...change, unread_count: await this.inbox.countUnread(userId) };
    if (receipt.all || receipt.ids.length > 0)
      await this.fanout.publish(notificationGroup(userId), serverFrame('read', receipt));
    return receipt;
  }
}
