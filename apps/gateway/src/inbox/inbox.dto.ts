import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_INBOX_PAGE = 200;

/** `GET /api/notifications`: `after` pages forward (oldest first, for catching up), else newest first. */
export class ListInboxQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) after?: number;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) before?: number;
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  unread = false;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_INBOX_PAGE) limit = 50;
}

export class NotificationIdParam {
  @Type(() => Number) @IsInt() @Min(1) id!: number;
}

export interface InboxItemView {
  id: number;
  task_id: string;
  message: unknown;
  created_at: string;
  read_at: string | null;
}
