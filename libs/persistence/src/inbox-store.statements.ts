import { TaskStatus } from '@app/contracts';
import { ISO_CREATED_AT } from './iso-created-at';
import { resultUpsertFrom } from './task-result.repository';

/**
 * The SQL of `InboxWriter`: one statement, in autocommit, for a whole batch (one round trip). The
 * batch is `$1`, a JSON array with one element per task (`[task id, message, name, args, kwargs,
 * received ms, report, users]`), `$2` the worker's name. Its answer is one JSON text: per task,
 * `[outcome, [[id, seq, created_at] per user] or null]`, outcome one of `stored`, `redelivered`
 * (the same users in the same order, the same message, no user more or fewer), `conflict` (another
 * message, another list, a broadcast, or rows no longer there hold the task id) or `missing`
 * (stored by another statement after this one's snapshot: a hole in that user's seqs, which
 * readers treat as a gap they find nothing in).
 *
 * A task is kept from being stored twice by its SUCCESS row, not by an index of the inbox (which,
 * partitioned, could only be unique per partition): the row's task id is unique, and the statement
 * writes a task's inbox rows only when its upsert is the one that made the row SUCCESS (`claimed`).
 * So a task id is remembered as long as its result row (RESULT_EXPIRES_SECONDS), as in Celery.
 * The inbox ids are drawn before the claim, so the SUCCESS row can name the first one.
 *
 * Two statements share most of their steps: one for a batch of tasks for one user each (nearly
 * every batch, and the throughput path), one for a single task for a list of users.
 */

/** More rows than any task holds (MAX_RECIPIENTS is at most 10,000). */
const MAX_ROWS_PER_TASK = 10_001;

/** `task`: the batch's elements; `users` is a JSON array for a list task, a user id otherwise. */
const TASKS = (users: string) => `"task" AS (
    SELECT x->>0 AS t, x->>1 AS m, x->>2 AS name, x->>3 AS args, x->>4 AS kwargs, (x->>5)::float8 AS received_ms, x->>6 AS report, ${users}, n
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, n)
  )`;

/**
 * `prior`: the batch's tasks that are already SUCCESS (one probe of the unique task id each: the
 * LATERAL keeps the planner from reading every SUCCESS row through the status index instead).
 * `before`: the rows those tasks hold, with their user and message text, read by a function
 * (migration 1764922700000) so that the search, which spans every partition, is started only for
 * those tasks and not with every statement.
 * `broadcasts`: a task id that names a broadcast names nothing else (BroadcastRepository).
 */
const BEFORE = `"prior" AS (
    SELECT x.t FROM "task" AS x, LATERAL (
      SELECT "status" FROM "django_celery_results_taskresult" WHERE "task_id" = x.t LIMIT 1) AS r
     WHERE r."status" = '${TaskStatus.Success}'
  ), "before" AS (
    SELECT i."task_id", i."id", i."seq", i."user_id", i."recipient_index", ${ISO_CREATED_AT} AS "created_at", i."message"
      FROM "task" AS x, LATERAL notification_inbox_task_rows(x.t, ${MAX_ROWS_PER_TASK}) AS i
     WHERE x.t IN (SELECT t FROM "prior")
  ), "broadcasts" AS (
    SELECT x.t FROM "task" AS x WHERE EXISTS (SELECT 1 FROM "broadcast" WHERE "task_id" = x.t)
  ), "held_before" AS (
    SELECT "task_id", count(*) AS held FROM "before" GROUP BY "task_id"
  )`;

/** `fresh`: the elements of the tasks neither completed nor broadcast, from `elements`. */
const freshOf = (elements: string) => `"fresh" AS (
    SELECT * FROM ${elements} WHERE t NOT IN (SELECT t FROM "prior") AND t NOT IN (SELECT t FROM "broadcasts")
  )`;

/**
 * From `fresh` (one element per new (task, user) with `u`, `n`, `k`): `floor` draws one id before
 * all the batch's ids, which each user's counter keeps as where to look for the end of the inbox
 * (`notification_inbox_end`, migration 1764922600000). `drawn` locks each user's
 * counter row (in user order, so two workers' batches cannot deadlock) and moves it on by that
 * user's new notifications. `held` aggregates it, so every counter is locked before any inbox row
 * (hence any id) exists: for each user, seq order, id order and commit order agree (a batch never
 * holds one user both in a list task and in another task). `numbered` gives each its seq and
 * its inbox id, drawn in batch and list order (so in seq order within each user) and only once
 * the counters are held. The id sequence is looked up once, in `floor`: `pg_get_serial_sequence`
 * reads the catalog each call, which per row cost about 6 % of the statement's CPU (bench:store).
 */
const SEQUENCES = `"counts" AS (
    SELECT u, count(*) AS c FROM "fresh" GROUP BY u
  ), "floor" AS (
    SELECT nextval(q.seq) AS id, q.seq FROM (SELECT pg_get_serial_sequence('"notification_inbox"', 'id')::regclass AS seq) AS q
  ), "drawn" AS (
    INSERT INTO "notification_sequence" AS s ("user_id", "last_seq", "id_floor")
    SELECT u, c, "floor".id FROM "counts", "floor" ORDER BY u
    ON CONFLICT ("user_id") DO UPDATE SET "last_seq" = s."last_seq" + EXCLUDED."last_seq", "id_floor" = EXCLUDED."id_floor"
    RETURNING "user_id", "last_seq"
  ), "held" AS (
    SELECT array_agg("user_id") AS users, array_agg("last_seq") AS lasts FROM "drawn"
  ), "ordered" AS (
    SELECT f.*, d.last - c.c + row_number() OVER (PARTITION BY f.u ORDER BY f.n, f.k) AS seq
      FROM "held", unnest("held".users, "held".lasts) AS d(u, last)
      JOIN "fresh" AS f ON f.u = d.u JOIN "counts" AS c ON c.u = d.u
     ORDER BY f.n, f.k
  ), "numbered" AS (
    SELECT o.*, nextval((SELECT seq FROM "floor")) AS id FROM "ordered" AS o
  )`;

/**
 * `claimed`: the SUCCESS rows of the new tasks (the result built in SQL for one user), in task id
 * order so that two statements claiming the same tasks wait for each other in one order; returns
 * the tasks whose row this statement made SUCCESS. `inserted`: those tasks' inbox rows, and what a
 * frame needs of them.
 */
const claimAndInsert = (withDateStarted: boolean) => `"claimed" AS (
    ${resultUpsertFrom(
      `(SELECT t AS id, 'SUCCESS' AS status,
               coalesce(report, '{"notification_id":' || id || ',"group":"Notifications_' || u || '"}') AS result,
               NULL::text AS traceback, args, kwargs, name, $2::varchar AS worker, to_timestamp(received_ms / 1000) AS created
          FROM "numbered" WHERE k = 1 ORDER BY t) AS y`,
      withDateStarted,
      true,
    )}
    RETURNING "task_id"
  ), "inserted" AS (
    INSERT INTO "notification_inbox" ("id", "user_id", "task_id", "message", "seq", "recipient_index")
    SELECT id, u, t, m::json, seq, k - 1 FROM "numbered" WHERE t IN (SELECT "task_id" FROM "claimed") ORDER BY id
    RETURNING "id", "seq", "task_id", "user_id", ${ISO_CREATED_AT} AS "created_at"
  )`;

/**
 * `outcome` of a task from what it inserted and what it held before (`matched`: rows the same). A
 * completed task whose rows are gone (retention) is a conflict: its id is spent.
 */
const OUTCOME = `CASE
             WHEN r.inserted = r.elements THEN 'stored'
             WHEN x.t IN (SELECT t FROM "broadcasts") THEN 'conflict'
             WHEN x.t NOT IN (SELECT t FROM "prior") THEN 'missing'
             WHEN r.matched = r.elements AND h.held = r.elements THEN 'redelivered'
             ELSE 'conflict' END`;

/** The SUCCESS rows of the redelivered tasks written again (as Celery writes a task's row each time it runs), then the answer. */
const recordAndAnswer = (withDateStarted: boolean) => `"recorded" AS (
    ${resultUpsertFrom(
      `(SELECT t AS id, 'SUCCESS' AS status,
               coalesce(report, '{"notification_id":' || first_id || ',"group":"Notifications_' || first_user || '"}') AS result,
               NULL::text AS traceback, args, kwargs, name, $2::varchar AS worker, to_timestamp(received_ms / 1000) AS created
          FROM "judged" WHERE outcome = 'redelivered') AS y`,
      withDateStarted,
    )}
    RETURNING 1
  )
  SELECT coalesce(json_agg(json_build_array(outcome, CASE WHEN outcome IN ('stored', 'redelivered') THEN rows END) ORDER BY n), '[]')::text AS "results"
    FROM "judged"`;

/**
 * Tasks for one user each (`users` is the user id). Each task is one row, so `judged` reads its
 * outcome straight from the task's inserted row and the row it held before.
 */
export function singleUserStoreStatement(withDateStarted: boolean): string {
  return `
  WITH ${TASKS('x->>7 AS u')}, ${BEFORE}, ${freshOf('(SELECT *, 1 AS k FROM "task") AS x')},
  ${SEQUENCES}, ${claimAndInsert(withDateStarted)}, "judged" AS (
    SELECT x.*, x.u AS first_user, coalesce(i."id", b."id") AS first_id,
           json_build_array(json_build_array(coalesce(i."id", b."id")::text, coalesce(i."seq", b."seq")::text,
                                             coalesce(i."created_at", b."created_at"))) AS rows, ${OUTCOME} AS outcome
      FROM "task" AS x
      LEFT JOIN "inserted" AS i ON i."task_id" = x.t
      LEFT JOIN "before" AS b ON b."task_id" = x.t AND b."user_id" = x.u
      LEFT JOIN "held_before" AS h ON h."task_id" = x.t,
      -- The same user, in the first place, with the same message.
      LATERAL (SELECT 1 AS elements, (i."id" IS NOT NULL)::int AS inserted,
                      (b."message" IS NOT NULL AND b."message" = x.m AND b."recipient_index" = 0)::int AS matched) AS r
  ), ${recordAndAnswer(withDateStarted)}`;
}

/**
 * One task for a list of users (`users` is the JSON array; `k` a user's place in it): the task's
 * rows are inserted all or none with its claim, so two workers storing different lists under one
 * task id cannot both write part of it; `per_task` counts the users inserted and those held
 * before the same way.
 */
export function listStoreStatement(withDateStarted: boolean): string {
  return `
  WITH ${TASKS('x->7 AS users')}, "input" AS (
    SELECT r.u, x.t, x.m, x.n, r.k, x.report, x.name, x.args, x.kwargs, x.received_ms
      FROM "task" AS x, jsonb_array_elements_text(x.users) WITH ORDINALITY AS r(u, k)
  ), ${BEFORE}, ${freshOf('"input"')}, ${SEQUENCES}, ${claimAndInsert(withDateStarted)}, "rows" AS (
    SELECT x.t, x.k, coalesce(i."id", b."id") AS id, coalesce(i."seq", b."seq") AS seq,
           coalesce(i."created_at", b."created_at") AS created_at, i."id" IS NOT NULL AS inserted,
           -- The same user, in the same place of the list, with the same message.
           b."message" IS NOT NULL AND b."message" = x.m AND b."recipient_index" = x.k - 1 AS matched
      FROM "input" AS x
      LEFT JOIN "inserted" AS i ON i."task_id" = x.t AND i."user_id" = x.u
      LEFT JOIN "before" AS b ON b."task_id" = x.t AND b."user_id" = x.u
  ), "per_task" AS (
    SELECT t, count(*) AS elements, count(*) FILTER (WHERE inserted) AS inserted,
           count(*) FILTER (WHERE matched) AS matched, min(id) FILTER (WHERE k = 1) AS first_id,
           json_agg(json_build_array(id::text, seq::text, created_at) ORDER BY k) AS rows
      FROM "rows" GROUP BY t
  ), "judged" AS (
    SELECT x.*, x.users->>0 AS first_user, r.first_id, r.rows, ${OUTCOME} AS outcome
      FROM "task" AS x JOIN "per_task" AS r ON r.t = x.t LEFT JOIN "held_before" AS h ON h."task_id" = x.t
  ), ${recordAndAnswer(withDateStarted)}`;
}
