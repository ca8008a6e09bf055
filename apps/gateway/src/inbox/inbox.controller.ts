import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { JwtAuthGuard } from '@app/auth';
import type { AuthenticatedUser } from '@app/auth';
import type { ReadReceipt } from '@app/contracts';
import { Notification, NotificationRepository } from '@app/persistence';
import { InboxItemView, ListInboxQuery, NotificationIdParam } from './inbox.dto';
import { ReadReceipts } from './read-receipts.service';

type AuthenticatedRequest = { user: AuthenticatedUser };

/** The inbox of whoever holds the token: their own notifications only, whatever the query says. */
@Controller('api/notifications')
@UseGuards(JwtAuthGuard)
export class InboxController {
  constructor(
    private readonly inbox: NotificationRepository,
    private readonly receipts: ReadReceipts,
  ) {}

  @Get()
  async list(@Req() { user }: AuthenticatedRequest, @Query() query: ListInboxQuery) {
    const page = await this.inbox.list(user.userId, {
      after: query.after?.toString(),
      before: query.before?.toString(),
      unreadOnly: query.unread,
      limit: query.limit,
    });
    return { results: page.items.map(toInboxItemView), has_more: page.hasMore };
  }

  @Get('unread_count')
  async unreadCount(@Req() { user }: AuthenticatedRequest) {
    return { unread_count: await this.inbox.countUnread(user.userId, { mayLag: true }) };
  }

  @Post('read_all')
  @HttpCode(200)
  markAllRead(@Req() { user }: AuthenticatedRequest): Promise<ReadReceipt> {
    return this.receipts.markAllRead(user.userId);
  }

  @Post(':id/read')
  @HttpCode(200)
  async markRead(@Req() { user }: AuthenticatedRequest, @Param() { id }: NotificationIdParam): Promise<ReadReceipt> {
    // Someone else's notification is answered exactly like one that does not exist.
    if (!(await this.inbox.findOwn(user.userId, String(id)))) throw new NotFoundException(`No notification ${id}`);
    return this.receipts.markRead(user.userId, [id]);
  }
}

export function toInboxItemView(row: Notification): InboxItemView {
  return {
    id: Number(row.id),
    seq: Number(row.seq),
    task_id: row.taskId,
    message: row.message,
    created_at: new Date(row.createdAt).toISOString(),
    read_at: row.readAt ? new Date(row.readAt).toISOString() : null,
  };
}
