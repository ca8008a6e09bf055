import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { USER_ID_RULE, UserId, normalizeUserId } from '@app/contracts';

/** A `:user_id` path parameter as a user id the service accepts; anything else is a 400. */
@Injectable()
export class UserIdPipe implements PipeTransform<string, UserId> {
  transform(value: string): UserId {
    const userId = normalizeUserId(value);
    if (userId === null) throw new BadRequestException([`user_id must be ${USER_ID_RULE}`]);
    return userId;
  }
}
