import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { WholeNumber } from '../http/whole-number';

export const MAX_INBOX_PAGE = 200;

/** `GET /api/notifications`: `after` pages forward (oldest first, for catching up), else newest first. */
export class ListInboxQuery {
  @IsOptional() @WholeNumber(0) after?: number;
  @IsOptional() @WholeNumber(1) before?: number;
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  unread = false;
  @IsOptional() @WholeNumber(1, MAX_INBOX_PAGE) limit = 50;
}

export class NotificationIdParam {
  @WholeNumber(1) id!: number;
}

export interface InboxItemView {
  id: number;
  /** Its place in the user's sequence (1, 2, 3, ... with no gap), as in the notification frame. */
  seq: number;
  task_id: string;
  message: unknown;
  created_at: string;
  read_at: string | null;
}
