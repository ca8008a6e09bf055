import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { PersistenceModule, TaskStatsQueries } from '@app/persistence';
import { PublishingModule } from '@app/publishing';
import { DataSource } from 'typeorm';
import { DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';

/** The admin dashboard's JSON endpoints; the page itself is a static file (see static-pages.ts). */
@Module({
  imports: [AuthModule, PersistenceModule, PublishingModule],
  controllers: [DashboardController],
  providers: [DashboardService, { provide: TaskStatsQueries, inject: [DataSource], useFactory: (dataSource: DataSource) => new TaskStatsQueries(dataSource) }],
})
export class DashboardModule {}
