import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One row of django-celery-results' `TaskResult`, column for column, so that Django's ORM and
 * admin, and Celery's `AsyncResult`, read what this service writes.
 */
@Entity({ name: 'django_celery_results_taskresult' })
export class TaskResult {
  @PrimaryGeneratedColumn('identity', { type: 'integer', generatedIdentity: 'BY DEFAULT' })
  id!: number;

  @Column({ name: 'task_id', type: 'varchar', length: 255, unique: true })
  taskId!: string;

  @Column({ type: 'varchar', length: 50 })
  status!: string;

  @Column({ name: 'content_type', type: 'varchar', length: 128 })
  contentType!: string;

  @Column({ name: 'content_encoding', type: 'varchar', length: 64 })
  contentEncoding!: string;

  @Column({ type: 'text', nullable: true })
  result!: string | null;

  @Column({ name: 'date_done', type: 'timestamptz' })
  dateDone!: Date;

  @Column({ type: 'text', nullable: true })
  traceback!: string | null;

  @Column({ type: 'text', nullable: true })
  meta!: string | null;

  @Column({ name: 'task_args', type: 'text', nullable: true })
  taskArgs!: string | null;

  @Column({ name: 'task_kwargs', type: 'text', nullable: true })
  taskKwargs!: string | null;

  @Column({ name: 'task_name', type: 'varchar', length: 255, nullable: true })
  taskName!: string | null;

  @Column({ type: 'varchar', length: 100, nullable: true })
  worker!: string | null;

  @Column({ name: 'date_created', type: 'timestamptz' })
  dateCreated!: Date;

  @Column({ name: 'periodic_task_name', type: 'varchar', length: 255, nullable: true })
  periodicTaskName!: string | null;

  /** Added by django-celery-results 2.5; tables made by older versions lack it (see the repository). */
  @Column({ name: 'date_started', type: 'timestamptz', nullable: true, select: false })
  dateStarted?: Date | null;
}
