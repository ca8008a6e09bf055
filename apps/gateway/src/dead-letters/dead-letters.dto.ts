import { BadRequestException } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  Equals,
  IsArray,
  IsBoolean,
  IsOptional,
  IsString,
  Length,
  ValidateIf,
} from 'class-validator';
import type { DeadLetter, DeadLetterSelection } from '@app/publishing';
import { WholeNumber } from '../http/whole-number';

/** `GET /api/admin/dead_letters`: the head of the queue; bodies only with `reveal=true`. */
export class ListDeadLettersQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @WholeNumber(1, 500)
  limit = 50;

  @ApiPropertyOptional({ type: 'boolean', default: false, description: 'Show the first 512 bytes of each body' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  reveal = false;
}

/** The body of a requeue or discard: `{"ids": [...]}` (task ids or `sha256:` ids) or `{"all": true}`. */
export class DeadLetterSelectionBody {
  @ApiPropertyOptional({ type: [String], maxItems: 1000, description: 'The `id`s the listing shows' })
  @ValidateIf((body: DeadLetterSelectionBody) => body.all === undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @Length(1, 255, { each: true })
  ids?: string[];

  @ApiPropertyOptional({ enum: [true], description: 'Every message in the queue (up to 10,000 at a time)' })
  @ValidateIf((body: DeadLetterSelectionBody) => body.ids === undefined)
  @Equals(true, { message: 'give either ids (a list) or all: true' })
  all?: true;

  toSelection(): DeadLetterSelection {
    if (this.ids !== undefined && this.all !== undefined)
      throw new BadRequestException(['give either ids or all: true, not both']);
    return this.all ? { all: true } : { ids: [...new Set(this.ids)] };
  }
}

/** One message as the API shows it (snake_case, as the rest of the admin API). */
export interface DeadLetterView {
  id: string;
  task_id: string | null;
  reason: string | null;
  original_queue: string | null;
  dead_lettered_at: string | null;
  attempts: number | null;
  format: DeadLetter['format'];
  content_type: string | null;
  size: number;
  preview: string | null;
}

export function toDeadLetterView(letter: DeadLetter): DeadLetterView {
  return {
    id: letter.id,
    task_id: letter.taskId,
    reason: letter.reason,
    original_queue: letter.originalQueue,
    dead_lettered_at: letter.deadLetteredAt,
    attempts: letter.attempts,
    format: letter.format,
    content_type: letter.contentType,
    size: letter.size,
    preview: letter.preview,
  };
}
