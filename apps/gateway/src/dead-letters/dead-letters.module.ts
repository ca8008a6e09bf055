import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { DeadLetterActions } from './dead-letter-actions.service';
import { DeadLettersController } from './dead-letters.controller';

/** The dead-letter queue's admin API; the dashboard's view of it is in public/admin. */
@Module({
  imports: [AuthModule],
  controllers: [DeadLettersController],
  providers: [DeadLetterActions],
})
export class DeadLettersModule {}
