import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PersistenceModule } from '@app/persistence';
import { PublishingModule } from '@app/publishing';
import { DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';
import { NotificationsModule } from '../notifications/notifications.module';

/** The admin dashboard's JSON endpoints; the page itself is a static file (see static-pages.ts). */
@Module({
  imports: [AuthModule, PersistenceModule, PublishingModule, NotificationsModule],
  controllers: [DashboardController],
  providers: [DashboardService],
})
export class DashboardModule {}
