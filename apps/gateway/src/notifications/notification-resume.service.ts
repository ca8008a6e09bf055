import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '@app/config';
import type { AppConfig } from '@app/config';
import { notificationFrameOf, serverFrame } from '@app/contracts';
import { NotificationRepository } from '@app/persistence';
import { WebSocket } from 'ws';
import { SocketGroups } from './socket-groups';

/**
 * Sends a (re)connecting client what it missed after the last id it saw, in order, then hands it
 * over to live delivery. The socket's live frames wait meanwhile (`SocketGroups.holdLive`), so a
 * notification arriving during the catch-up is sent exactly once, after the stored ones.
 */
@Injectable()
export class NotificationResume {
  constructor(
    private readonly inbox: NotificationRepository,
    private readonly groups: SocketGroups,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Gives a socket that connected without `since` a position: the user's newest id, read once its
   * group subscription is live. Everything committed later reaches it live; if this gateway then
   * loses Redis, the catch-up after the outage starts there (a socket without a position would be
   * skipped and miss what was published meanwhile).
   */
  async notePresentPosition(socket: WebSocket, userId: string): Promise<void> {
    this.groups.notePosition(socket, await this.inbox.latestId(userId));
  }

  /**
   * Call `holdLive(socket)` before the socket's group subscription is made, then this. With
   * `afterOutage` (live frames were lost, see `NotificationGateway`) everything after `since` is
   * sent, including what the socket may already have received live since.
   */
  async catchUp(socket: WebSocket, userId: string, since: number, { afterOutage = false } = {}): Promise<void> {
    let sentUpTo = since;
    this.groups.notePosition(socket, since);
    try {
      const window = this.config.RESUME_WINDOW;
      // Stop before what the socket already got live (a `resume` frame sent after live traffic began).
      const liveFrom = afterOutage ? undefined : this.groups.firstLiveIdOf(socket);
      const missed = (await this.inbox.after(userId, String(since), window + 1)).filter((row) => liveFrom === undefined || Number(row.id) < liveFrom);
      if (missed.length > window) {
        this.groups.send(socket, serverFrame('resume_gap', { since, window, fetch: `/api/notifications?after=${since}` }));
        return;
      }
      for (const row of missed) this.groups.send(socket, notificationFrameOf(row));
      sentUpTo = missed.length ? Number(missed[missed.length - 1].id) : since;
      this.groups.send(socket, serverFrame('resumed', { since, count: missed.length, last_id: sentUpTo }));
    } finally {
      this.groups.releaseLive(socket, sentUpTo);
    }
  }
}
