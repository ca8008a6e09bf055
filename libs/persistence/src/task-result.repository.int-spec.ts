import { Test, TestingModule } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { TaskStatus } from '@app/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { testConfig, withDatabase } from '@test/support/test-context';
import { createDatabaseIfMissing, dropDatabase } from './database-migrator';
import { PersistenceModule } from './persistence.module';
import { TaskOutcome, TaskResultRepository } from './task-result.repository';

describe('TaskResultRepository (real Postgres)', () => {
  let moduleRef: TestingModule;
  let repository: TaskResultRepository;
  const worker = `repo-spec-${randomUUID().slice(0, 8)}`;

  const outcome = (overrides: Partial<TaskOutcome> = {}): TaskOutcome => ({
    taskId: randomUUID(),
    status: TaskStatus.Success,
    result: '{"gateways":1}',
    taskName: 'send_notification',
    taskArgs: '[]',
    taskKwargs: '{"user_id":1,"message":"hi"}',
    worker,
    receivedAt: new Date(),
    ...overrides,
  });

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig()), PersistenceModule],
    }).compile();
    repository = moduleRef.get(TaskResultRepository);
  });

  afterAll(() => moduleRef.close());

  it('writes a row as django-celery-results does', async () => {
    const written = outcome();
    await repository.record(written);
    const row = await repository.findByTaskId(written.taskId);
    expect(row).toMatchObject({
      taskId: written.taskId,
      status: 'SUCCESS',
      result: '{"gateways":1}',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      meta: '{"children": []}',
      taskName: 'send_notification',
      worker,
      dateStarted: null,
      periodicTaskName: null,
    });
    expect(row!.dateCreated.getTime()).toBe(written.receivedAt.getTime());
    expect(row!.dateDone.getTime()).toBeGreaterThanOrEqual(row!.dateCreated.getTime() - 1000);
  });

  it('overwrites the row of a task recorded again, keeping one row and its first date_created', async () => {
    const first = outcome({ status: TaskStatus.Failure, result: '{"exc_type":"X"}' });
    await repository.record(first);
    await repository.record({
      ...first,
      status: TaskStatus.Success,
      result: '{"ok":true}',
      receivedAt: new Date(Date.now() + 60_000),
    });
    const rows = await withDatabase((db) =>
      db.query('SELECT status, result, date_created FROM django_celery_results_taskresult WHERE task_id = $1', [
        first.taskId,
      ]),
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]).toMatchObject({ status: 'SUCCESS', result: '{"ok":true}' });
    expect(rows.rows[0].date_created.getTime()).toBe(first.receivedAt.getTime());
  });

  it('says whether it wrote the row: never over a SUCCESS, but a SUCCESS again', async () => {
    const success = outcome({ status: TaskStatus.Success, result: '{"ok":true}' });
    expect(await repository.record(success)).toBe(true);
    expect(await repository.record({ ...success, status: TaskStatus.Failure, result: '{"exc_type":"X"}' })).toBe(false);
    expect(await repository.record(success)).toBe(true);
    expect(await repository.recordMany([outcome({ status: TaskStatus.Failure }), success])).toHaveLength(2);
  });

  it('filters, orders and pages, with a total count', async () => {
    const listWorker = `${worker}-list`;
    const base = Date.parse('2030-01-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await repository.record(
        outcome({
          worker: listWorker,
          status: i % 2 ? TaskStatus.Failure : TaskStatus.Success,
          receivedAt: new Date(base + i * 1000),
        }),
      );
    }
    const page = await repository.search({ worker: listWorker, ordering: 'date_created', offset: 1, limit: 2 });
    expect(page.total).toBe(5);
    expect(page.items.map((row) => row.dateCreated.getTime())).toEqual([base + 1000, base + 2000]);

    const failures = await repository.search({
      worker: listWorker,
      status: 'FAILURE',
      ordering: '-date_created',
      offset: 0,
      limit: 10,
    });
    expect(failures.total).toBe(2);
    expect(failures.items.map((row) => row.dateCreated.getTime())).toEqual([base + 3000, base + 1000]);

    const window = await repository.search({
      worker: listWorker,
      dateCreatedFrom: new Date(base + 1000),
      dateCreatedTo: new Date(base + 3000),
      ordering: 'date_created',
      offset: 0,
      limit: 10,
    });
    expect(window.items.map((row) => row.dateCreated.getTime())).toEqual([base + 1000, base + 2000]);
  });

  it('sets date_started when a task starts and keeps it when it finishes', async () => {
    const started = outcome({ status: TaskStatus.Started, result: '{"pid": 1}' });
    await repository.record(started);
    const startedAt = (await repository.findByTaskId(started.taskId))!.dateStarted;
    expect(startedAt).toBeInstanceOf(Date);
    await repository.record({ ...started, status: TaskStatus.Success });
    const done = (await repository.findByTaskId(started.taskId))!;
    expect(done.status).toBe('SUCCESS');
    expect(done.dateStarted).toEqual(startedAt);
  });
});

describe('TaskResultRepository on a table from django-celery-results < 2.5 (no date_started)', () => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/notify_old_${randomBytes(4).toString('hex')}`;
  let moduleRef: TestingModule;

  beforeAll(async () => {
    await createDatabaseIfMissing(url.toString());
    await withDatabase(
      (db) =>
        db.query(`CREATE TABLE django_celery_results_taskresult (
          id serial PRIMARY KEY, task_id varchar(255) NOT NULL UNIQUE, status varchar(50) NOT NULL,
          content_type varchar(128) NOT NULL, content_encoding varchar(64) NOT NULL, result text NULL,
          date_done timestamptz NOT NULL, traceback text NULL, meta text NULL, task_args text NULL,
          task_kwargs text NULL, task_name varchar(255) NULL, worker varchar(100) NULL,
          date_created timestamptz NOT NULL, periodic_task_name varchar(255) NULL)`),
      url.toString(),
    );
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig({ DATABASE_URL: url.toString() })), PersistenceModule],
    }).compile();
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef?.close();
    await dropDatabase(url.toString());
  });

  it('writes, reads and lists rows, STARTED ones included', async () => {
    const repository = moduleRef.get(TaskResultRepository);
    const taskId = randomUUID();
    const base = {
      taskId,
      result: '{}',
      taskName: 't',
      taskArgs: null,
      taskKwargs: null,
      worker: 'old-table',
      receivedAt: new Date(),
    };
    await repository.record({ ...base, status: TaskStatus.Started });
    await repository.record({ ...base, status: TaskStatus.Success });
    expect(await repository.findByTaskId(taskId)).toMatchObject({ taskId, status: 'SUCCESS' });
    expect((await repository.search({ worker: 'old-table', ordering: '-date_done', offset: 0, limit: 5 })).total).toBe(
      1,
    );
  });
});
