import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { TaskStatus } from '@app/contracts';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { LagTolerantReads } from './lag-tolerant-reads';
import { TaskResult } from './task-result.entity';

/** What the worker knows about a finished task; the rest of the row is filled as Celery fills it. */
export interface TaskOutcome {
  taskId: string;
  status: TaskStatus;
  /** JSON text of the return value, or of `{exc_type, exc_message, exc_module}` on failure. */
  result: string;
  traceback?: string | null;
  taskName: string | null;
  taskArgs: string | null;
  taskKwargs: string | null;
  worker: string;
  receivedAt: Date;
}

export type TaskResultOrder = 'date_done' | '-date_done' | 'date_created' | '-date_created';

export interface TaskResultFilter {
  status?: string;
  taskName?: string;
  worker?: string;
  dateCreatedFrom?: Date;
  dateCreatedTo?: Date;
  dateDoneFrom?: Date;
  dateDoneTo?: Date;
  ordering: TaskResultOrder;
  offset: number;
  limit: number;
}

const JSON_CONTENT_TYPE = 'application/json';
// Written as Python's json.dumps writes it, so the text matches rows Celery wrote.
const EMPTY_META = '{"children": []}';

/**
 * The service's access to `django_celery_results_taskresult`. The table may have been made by
 * Django, and by a django-celery-results older than 2.5 (Debian 12 ships 2.4), which has no
 * `date_started`: that column is written and read only where it exists. The admin API's reads
 * (`findByTaskId`, `search`) may go to a replica (`LagTolerantReads`).
 */
@Injectable()
export class TaskResultRepository implements OnModuleInit {
  /** Whether the table has `date_started` (django-celery-results 2.5+). */
  hasDateStarted = true;

  constructor(
    @InjectRepository(TaskResult) private readonly rows: Repository<TaskResult>,
    private readonly lagTolerant: LagTolerantReads,
  ) {}

  async onModuleInit(): Promise<void> {
    const found = await this.rows.query(
      `SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'django_celery_results_taskresult' AND column_name = 'date_started'`,
    );
    this.hasDateStarted = found.length > 0;
  }

  /**
   * Writes the task's row, or overwrites it when the task id is already there (a redelivery, or
   * STARTED then SUCCESS), as django-celery-results' `store_result` does: `date_created` keeps its
   * first value, and `date_started` is set when the status is STARTED. Resolves to false when
   * the row was kept as it was (a SUCCESS row is final, see `recordMany`).
   */
  async record(outcome: TaskOutcome, manager: EntityManager = this.rows.manager): Promise<boolean> {
    return (await this.recordMany([outcome], manager)).length > 0;
  }

  /**
   * `record` for many tasks in one statement; for a task id given twice, the last outcome wins.
   * A SUCCESS row is final: its notification is stored, so only SUCCESS may be written over it
   * (a redelivery), never the FAILURE, REVOKED or STARTED of a later message under its id.
   * Resolves to the task ids whose rows were written.
   */
  async recordMany(outcomes: TaskOutcome[], manager: EntityManager = this.rows.manager): Promise<string[]> {
    if (outcomes.length === 0) return [];
    const latest = [...new Map(outcomes.map((outcome) => [outcome.taskId, outcome])).values()];
    const column = <T>(value: (outcome: TaskOutcome) => T) => latest.map(value);
    const written: Array<{ task_id: string }> = await manager.query(
      this.hasDateStarted ? UPSERT_WITH_DATE_STARTED : UPSERT,
      [
        column((outcome) => outcome.taskId),
        column((outcome) => outcome.status),
        column((outcome) => postgresText(outcome.result)),
        column((outcome) => postgresText(outcome.traceback ?? null)),
        column((outcome) => postgresText(outcome.taskArgs)),
        column((outcome) => postgresText(outcome.taskKwargs)),
        column((outcome) => postgresText(outcome.taskName)),
        column((outcome) => postgresText(outcome.worker)),
        column((outcome) => outcome.receivedAt),
      ],
    );
    return written.map((row) => row.task_id);
  }

  findByTaskId(taskId: string): Promise<TaskResult | null> {
    return this.lagTolerant.run((db) => this.select(db).where('task.task_id = :taskId', { taskId }).getOne());
  }

  search(filter: TaskResultFilter): Promise<{ total: number; items: TaskResult[] }> {
    return this.lagTolerant.run(async (db) => {
      const [items, total] = await this.searchQuery(db, filter).getManyAndCount();
      return { total, items };
    });
  }

  private searchQuery(db: DataSource, filter: TaskResultFilter) {
    const query = this.select(db);
    const where = (condition: string, parameters: Record<string, unknown>) => query.andWhere(condition, parameters);
    if (filter.status) where('task.status = :status', { status: filter.status });
    if (filter.taskName) where('task.task_name = :taskName', { taskName: filter.taskName });
    if (filter.worker) where('task.worker = :worker', { worker: filter.worker });
    if (filter.dateCreatedFrom)
      where('task.date_created >= :dateCreatedFrom', { dateCreatedFrom: filter.dateCreatedFrom });
    if (filter.dateCreatedTo) where('task.date_created < :dateCreatedTo', { dateCreatedTo: filter.dateCreatedTo });
    if (filter.dateDoneFrom) where('task.date_done >= :dateDoneFrom', { dateDoneFrom: filter.dateDoneFrom });
    if (filter.dateDoneTo) where('task.date_done < :dateDoneTo', { dateDoneTo: filter.dateDoneTo });

    const descending = filter.ordering.startsWith('-');
    const column = filter.ordering.replace('-', '') === 'date_done' ? 'task.dateDone' : 'task.dateCreated';
    return query
      .orderBy(column, descending ? 'DESC' : 'ASC')
      .addOrderBy('task.id', descending ? 'DESC' : 'ASC')
      .skip(filter.offset)
      .take(filter.limit);
  }

  private select(db: DataSource) {
    const query = db.getRepository(TaskResult).createQueryBuilder('task');
    return this.hasDateStarted ? query.addSelect('task.dateStarted') : query;
  }
}

/**
 * The upsert of result rows read from `source`, an SQL row source with the columns `id` (the task
 * id), `status`, `result`, `traceback`, `args`, `kwargs`, `name`, `worker` and `created`. The rest
 * of the row is filled as django-celery-results fills it; a SUCCESS row is final (see `recordMany`).
 * `claim`: a SUCCESS row is not even rewritten by another SUCCESS, so the rows it returns are the
 * tasks this statement was first to complete (the inbox writer stores only those tasks' rows).
 */
export function resultUpsertFrom(source: string, withDateStarted: boolean, claim = false): string {
  return `INSERT INTO "django_celery_results_taskresult"
      ("task_id", "status", "content_type", "content_encoding", "result", "date_done", "traceback",
       "meta", "task_args", "task_kwargs", "task_name", "worker", "date_created"${withDateStarted ? ', "date_started"' : ''})
    SELECT id, status, '${JSON_CONTENT_TYPE}', 'utf-8', result, now(), traceback, '${EMPTY_META}', args, kwargs, name, worker, created${
      withDateStarted ? `, CASE WHEN status = '${TaskStatus.Started}' THEN now() END` : ''
    }
      FROM ${source}
    ON CONFLICT ("task_id") DO UPDATE SET
      "status" = EXCLUDED."status", "result" = EXCLUDED."result", "date_done" = EXCLUDED."date_done",
      "traceback" = EXCLUDED."traceback", "meta" = EXCLUDED."meta", "task_args" = EXCLUDED."task_args",
      "task_kwargs" = EXCLUDED."task_kwargs", "task_name" = EXCLUDED."task_name", "worker" = EXCLUDED."worker"${
        withDateStarted
          ? `,\n      "date_started" = COALESCE(EXCLUDED."date_started", "django_celery_results_taskresult"."date_started")`
          : ''
      }
    WHERE "django_celery_results_taskresult"."status" <> '${TaskStatus.Success}'${
      claim ? '' : ` OR EXCLUDED."status" = '${TaskStatus.Success}'`
    }`;
}

/**
 * Text as Postgres stores it: no NUL (refused in text) and no lone surrogate (which the driver
 * would turn into U+FFFD silently). Names and reprs come from publishers' headers, verbatim.
 */
export function postgresText<T extends string | null>(value: T): T {
  if (value === null || (!value.includes('\0') && value.isWellFormed())) return value;
  return value.replaceAll('\0', '\uFFFD').toWellFormed() as T;
}

/**
 * One statement text whatever the batch size: rows travel as one array per column, so Postgres
 * parses and plans a short statement instead of a VALUES list with nine parameters per row (which
 * took twice as long for 200 rows, measured in bench/).
 */
const COLUMN_ARRAYS = `unnest($1::varchar[], $2::varchar[], $3::text[], $4::text[], $5::text[], $6::text[], $7::varchar[], $8::varchar[], $9::timestamptz[])
        AS x(id, status, result, traceback, args, kwargs, name, worker, created)`;
const UPSERT = `${resultUpsertFrom(COLUMN_ARRAYS, false)} RETURNING "task_id"`;
const UPSERT_WITH_DATE_STARTED = `${resultUpsertFrom(COLUMN_ARRAYS, true)} RETURNING "task_id"`;
