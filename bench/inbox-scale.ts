/**
 * `npm run bench:scale`: does the partitioned inbox cost the same at 1 million and at 20 million
 * rows (issue 20)? Insert throughput (the worker's store statement through `InboxWriter`), resume
 * throughput (the gateway's catch-up read, `NotificationRepository.catchUpFrom`), the other
 * per-user reads (listing newest first, unread count, the expired-task probe `holdsTask`) and
 * retention (dropping one expired partition, as `InboxPartitionMaintainer` does it), measured on
 * the small inbox, then again after growing it to the large one (docs/partitioning.md#scale).
 * On a database of its own, dropped at the end, on error and on Ctrl-C.
 *
 *   npm run bench:scale                                    1,000,000 then 20,000,000 rows
 *   npm run bench:scale -- --small 100000 --large 2000000  a smoke run (same partition counts)
 *   options: --users 10000  --rounds 3  --inserts 100000 (per round)  --resumes 4000 (per round)
 *            --no-delete (skip the pre-partitioning batched DELETE, measured once on the small inbox)
 *
 * Design. Partitions hold `--small` ids each (1,000,000 by default, the maintainer's minimum
 * span, what a quiet inbox gets). The ids below the current partition, 1 .. large, are reserved
 * for old rows: the small inbox is the newest old partition alone (ids large - small + 1 ..
 * large) plus the current partition (large + 1 ..) and those opened ahead (as the maintainer:
 * two partitions beyond the last id drawn); growing it creates the older old partitions below, so
 * the large inbox is large / small old partitions plus the current ones (see nextDay). Ids rise with created_at as in production: the old rows are 91 days old and older
 * (one partition a day), all expired under the default 90 days; they are read (read_at set), as a
 * quarter-old inbox mostly is, so the partial unread index of an old partition is empty and the
 * unread count measures its per-partition probe, not more unread rows. User of id n: n % users;
 * seq: its place in that user's ids. Partitions are made and dropped only through
 * `InboxPartitions` (the DDL the maintainer runs); the migration's first (empty) partitions are
 * dropped so that the id range below the current partition is free. Old rows are loaded with
 * generate_series into each partition, then VACUUM ANALYZE and a CHECKPOINT (so a checkpoint of
 * the load does not run during the measures).
 *
 * A round: the results table emptied (results expire; otherwise each round's inserts would find
 * it larger than the round before) and a CHECKPOINT; `--inserts` notifications stored through
 * `InboxWriter` (batches of 500 single-user tasks, all of them queued at once, as the worker's
 * group commit forms them), into the current partition; then `--resumes` catch-ups of random users from the last id before that round's
 * inserts (about inserts / users rows each, all in the current partition), 4 at a time; 1,000
 * listings and unread counts; 1,000 `holdsTask` of absent task ids; then retention: the oldest old
 * partition is checked expired and dropped (the maintainer's steps: list, newestCreatedAt, detach
 * concurrently, drop) and, so that the inbox keeps its size for the next round, created and
 * loaded again (not measured). The maintainer's rate estimate (two bisections of the ids, from
 * `lastIdCreatedBefore`) is timed too. Rounds at one size, then growth, then rounds at the other:
 * median and range per size. Between the two, after the growth, "a day passes": the
 * notifications stored so far are marked read and the next ids go to the next partition (opened
 * ahead, empty), so that the large inbox's rounds insert into an empty current partition as the
 * small inbox's did (the small inbox's current partition stays, as yesterday's: the large inbox has
 * one partition more than old + current + ahead).
 */
import { statfsSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { parseAppConfig } from '@app/config';
import {
  InboxPartitions,
  InboxWriter,
  LagTolerantReads,
  Notification,
  NotificationRepository,
  TaskResult,
  TaskResultRepository,
  createDatabaseIfMissing,
  dataSourceOptions,
  dropDatabase,
  migrateDatabase,
  singleUserStoreStatement,
} from '@app/persistence';
import type { InboxPartition, InboxPartitionSession } from '@app/persistence';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) =>
  args.includes(name) ? Number(args[args.indexOf(name) + 1].replaceAll(/[_,]/g, '')) : fallback;
const SMALL = option('--small', 1_000_000);
const LARGE = option('--large', 20_000_000);
const USERS = option('--users', 10_000);
const ROUNDS = option('--rounds', 3);
const INSERTS = option('--inserts', 100_000);
const RESUMES = option('--resumes', 4_000);
const WITH_DELETE = !args.includes('--no-delete');
/** Ids per partition: the small inbox is one full old partition. */
const SPAN = SMALL;
const OLD_PARTITIONS = Math.floor(LARGE / SPAN);
const READS = 1_000;
const RESUME_CONCURRENCY = 4;
/** The gateway's page (CATCH_UP_PAGE in apps/gateway's ClientConnection). */
const CATCH_UP_PAGE = 100;
const RETENTION_DAYS = 90;
const PARTITIONS_AHEAD = 2;
const DAY_MS = 86_400_000;
/** The statement the batched retention ran before the partitions (NotificationRepository.deleteUpTo, removed in 8fcc22b). */
const DELETE_BATCH = `DELETE FROM "notification_inbox" WHERE "id" IN (SELECT "id" FROM "notification_inbox" WHERE "id" <= $1 ORDER BY "id" LIMIT $2)`;
const DELETE_BATCH_SIZE = 10_000;

if (LARGE % SPAN !== 0 || LARGE <= SPAN) throw new Error('--large must be a multiple of --small, and larger');

type Measures = Record<string, number>;

const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
const freeGb = () => {
  const stats = statfsSync('/');
  return ((stats.bavail * stats.bsize) / 1e9).toFixed(1);
};
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Old partition k (0 = oldest) holds ids k × SPAN + 1 up to (k + 1) × SPAN. */
const oldFrom = (k: number) => k * SPAN + 1;

class Bench {
  private readonly partitions: InboxPartitions;
  private readonly inbox: NotificationRepository;
  private readonly writer: InboxWriter;
  private readonly results: TaskResultRepository;

  constructor(private readonly db: DataSource) {
    const reads = new LagTolerantReads(db, undefined);
    this.partitions = new InboxPartitions(db);
    this.inbox = new NotificationRepository(db.getRepository(Notification), reads);
    this.results = new TaskResultRepository(db.getRepository(TaskResult), reads);
    // The store statement's batching as shipped (STORE_BATCH_WAIT_MS's default).
    this.writer = new InboxWriter(db, this.results, parseAppConfig({}));
  }

  private async session<T>(work: (session: InboxPartitionSession) => Promise<T>): Promise<T> {
    const result = await this.partitions.maintain(work);
    if (result === null) throw new Error('The partition maintenance lock is held elsewhere');
    return result;
  }

  private async walLsn(): Promise<string> {
    const [{ lsn }] = await this.db.query(`SELECT pg_current_wal_insert_lsn()::text AS lsn`);
    return lsn;
  }

  private async walSince(lsn: string): Promise<number> {
    const [{ bytes }] = await this.db.query(
      `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)::bigint AS bytes`,
      [lsn],
    );
    return Number(bytes);
  }

  /**
   * The migration's empty partitions dropped, the identity moved past the ids reserved for old
   * rows, the current partition and two ahead opened, and each user's counter at the old rows' seqs.
   */
  async setUp(): Promise<void> {
    await this.results.onModuleInit();
    await this.session(async (session) => {
      for (const partition of await session.list()) await session.drop(partition);
      await session.create(LARGE + 1, LARGE + 1 + SPAN);
    });
    await this.db.query(`SELECT setval(pg_get_serial_sequence('"notification_inbox"', 'id'), $1)`, [LARGE]);
    await this.openAhead();
    await this.db.query(
      `INSERT INTO notification_sequence (user_id, last_seq)
       SELECT u::text, ${Math.ceil(LARGE / USERS)} FROM generate_series(0, ${USERS - 1}) AS u`,
    );
  }

  /** As the maintainer's plan: PARTITIONS_AHEAD partitions beyond the one the next id goes to. */
  async openAhead(): Promise<void> {
    await this.session(async (session) => {
      const lastId = await session.lastId();
      const partitions = await session.list();
      let ahead = partitions.filter((partition) => partition.from !== null && partition.from > lastId).length;
      let from = partitions.at(-1)!.to;
      while (ahead < PARTITIONS_AHEAD) {
        await session.create(from, from + SPAN);
        from += SPAN;
        ahead++;
      }
    });
  }

  /** Creates old partition k and fills it with generate_series; VACUUM ANALYZE. Seconds. */
  async loadOld(k: number): Promise<number> {
    const started = process.hrtime.bigint();
    const from = oldFrom(k);
    const name = await this.session((session) => session.create(from, from + SPAN));
    // Partition k is (OLD_PARTITIONS - k) days older than the 91-day-old newest old row.
    await this.db.query(
      `INSERT INTO notification_inbox (id, user_id, task_id, message, seq, recipient_index, created_at, read_at)
       SELECT n, (n % ${USERS})::text, 'old-' || n, ('{"text":"notification ' || n || '","url":"/orders/' || n || '"}')::json,
              (n + ${USERS - 1}) / ${USERS}, 0, c, c + interval '1 hour'
         FROM generate_series($1::bigint, $2::bigint) AS n,
              LATERAL (SELECT now() - interval '91 days' - interval '1 millisecond' * ((${LARGE} - n) * ${DAY_MS / SPAN})) AS t(c)`,
      [from, from + SPAN - 1],
    );
    await this.db.query(`VACUUM ANALYZE "${name}"`);
    return seconds(started);
  }

  /** Loads old partitions `ks`, then ANALYZE of the parent and a CHECKPOINT. */
  async load(ks: number[]): Promise<{ seconds: number; perMillion: number }> {
    const started = process.hrtime.bigint();
    for (const [i, k] of ks.entries()) {
      const took = await this.loadOld(k);
      if (i % 5 === 0 || i === ks.length - 1)
        log(`  old partition ${i + 1}/${ks.length} loaded in ${took.toFixed(1)} s; ${freeGb()} GB free`);
    }
    await this.db.query(`ANALYZE notification_inbox`);
    await this.db.query(`CHECKPOINT`);
    const total = seconds(started);
    return { seconds: total, perMillion: (total * 1e6) / (ks.length * SPAN) };
  }

  async describe(): Promise<string> {
    const [{ rows, partitions, bytes }] = await this.db.query(
      `SELECT (SELECT count(*) FROM notification_inbox)::bigint AS rows,
              (SELECT count(*) FROM pg_inherits WHERE inhparent = 'notification_inbox'::regclass)::int AS partitions,
              (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('notification_inbox'))::bigint AS bytes`,
    );
    return `${Number(rows).toLocaleString('en')} rows in ${partitions} partitions, ${(Number(bytes) / 1e9).toFixed(2)} GB`;
  }

  /** `INSERTS` single-user notifications through InboxWriter, queued at once. */
  async insert(m: Measures): Promise<number> {
    // Results expire (RESULT_EXPIRES_SECONDS): each round starts with none, not with the rounds' before.
    await this.db.query(`TRUNCATE django_celery_results_taskresult`);
    await this.db.query(`CHECKPOINT`);
    await this.openAhead();
    const lastBefore = await this.session((session) => session.lastId());
    const success = {
      taskName: 'notifications.tasks.send_notification_task',
      taskArgs: '(…)',
      taskKwargs: '{}',
      worker: 'bench',
    };
    const lsn = await this.walLsn();
    const started = process.hrtime.bigint();
    const stored = await Promise.all(
      Array.from({ length: INSERTS }, (_, i) => {
        const user = String(Math.floor(Math.random() * USERS));
        return this.writer.storeWithResult(
          {
            userIds: [user],
            listsRecipients: false,
            taskId: randomUUID(),
            messageJson: `{"text":"notification ${i}","url":"/orders/${i}"}`,
          },
          { ...success, receivedAt: new Date() },
        );
      }),
    );
    const took = seconds(started);
    if (stored.some((result) => result.status !== 'stored')) throw new Error('A notification was not stored');
    m['insert: notifications/s'] = INSERTS / took;
    m['insert: WAL bytes/notification'] = (await this.walSince(lsn)) / INSERTS;
    return lastBefore;
  }

  /**
   * A new day: the notifications stored so far are read, and the next ids go to the next
   * partition (opened ahead, empty), so the large inbox's rounds insert into an empty current
   * partition as the small inbox's did.
   */
  async nextDay(): Promise<void> {
    await this.db.query(`UPDATE notification_inbox SET read_at = now() WHERE id > $1 AND read_at IS NULL`, [LARGE]);
    await this.session(async (session) => {
      const lastId = await session.lastId();
      const next = (await session.list()).find((partition) => partition.from !== null && partition.from > lastId)!;
      await this.db.query(`SELECT setval(pg_get_serial_sequence('"notification_inbox"', 'id'), $1)`, [next.from! - 1]);
    });
    await this.openAhead();
    for (const partition of await this.session((session) => session.list()))
      if (partition.from! > LARGE) await this.db.query(`VACUUM ANALYZE "${partition.name}"`);
    await this.db.query(`ANALYZE notification_inbox`);
  }

  /** `count` calls of `call`, `concurrency` at a time: per second, and p50/p99 ms. */
  private async timed(count: number, concurrency: number, call: (i: number) => Promise<unknown>) {
    const latencies: number[] = [];
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          const from = process.hrtime.bigint();
          await call(i);
          latencies.push(Number(process.hrtime.bigint() - from) / 1e6);
        }
      }),
    );
    const perSecond = count / seconds(started);
    latencies.sort((a, b) => a - b);
    return { perSecond, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  }

  async reads(m: Measures, since: number): Promise<void> {
    const user = () => String(Math.floor(Math.random() * USERS));
    let rowsRead = 0;
    const resume = await this.timed(RESUMES, RESUME_CONCURRENCY, async () => {
      const { rows } = await this.inbox.catchUpFrom(user(), since, CATCH_UP_PAGE);
      rowsRead += rows.length;
    });
    m['resume (catchUpFrom): resumes/s'] = resume.perSecond;
    m['resume: p50 ms'] = resume.p50;
    m['resume: p99 ms'] = resume.p99;
    m['resume: rows per resume'] = rowsRead / RESUMES;
    const position = await this.timed(READS, 1, () => this.inbox.position(user()));
    m['position (a connect without since): p50 ms'] = position.p50;
    const list = await this.timed(READS, 1, () => this.inbox.list(user(), { unreadOnly: false, limit: 50 }));
    m['listing, newest first, 50: p50 ms'] = list.p50;
    const unread = await this.timed(READS, 1, () => this.inbox.countUnread(user()));
    m['unread count: p50 ms'] = unread.p50;
    const probe = await this.timed(READS, 1, () => this.inbox.holdsTask(randomUUID()));
    m['holdsTask (expired-task probe): p50 ms'] = probe.p50;
  }

  /** The maintainer's steps for its oldest partition: list, newest row expired?, detach concurrently, drop. */
  async retention(m: Measures): Promise<InboxPartition> {
    const cutoff = new Date(Date.now() - RETENTION_DAYS * DAY_MS);
    const rate = process.hrtime.bigint();
    await this.inbox.lastIdCreatedBefore(new Date(Date.now() - DAY_MS));
    await this.inbox.lastIdCreatedBefore(new Date(Date.now() - 3_600_000));
    m["maintainer's rate estimate (2 bisections): ms"] = seconds(rate) * 1000;
    const lsn = await this.walLsn();
    const started = process.hrtime.bigint();
    const dropped = await this.session(async (session) => {
      const [oldest] = await session.list();
      const newest = await session.newestCreatedAt(oldest);
      if (newest === null || newest >= cutoff || oldest.from === null || oldest.from > LARGE)
        throw new Error(`${oldest.name} is not an expired old partition`);
      await session.drop(oldest);
      return oldest;
    });
    m['retention: drop 1 partition, ms'] = seconds(started) * 1000;
    m['retention: drop 1 partition, WAL bytes'] = await this.walSince(lsn);
    return dropped;
  }

  /** The pre-partitioning retention on the same partition's rows: batched DELETEs, then the (empty) partition dropped. */
  async batchedDelete(): Promise<{ seconds: number; walBytes: number }> {
    const [oldest] = await this.session((session) => session.list());
    const lsn = await this.walLsn();
    const started = process.hrtime.bigint();
    for (;;) {
      const [, count] = await this.db.query(DELETE_BATCH, [oldest.to - 1, DELETE_BATCH_SIZE]);
      if (count < DELETE_BATCH_SIZE) break;
    }
    const result = { seconds: seconds(started), walBytes: await this.walSince(lsn) };
    await this.session((session) => session.drop(oldest));
    return result;
  }

  async rounds(label: string): Promise<Measures[]> {
    const all: Measures[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const m: Measures = {};
      const since = await this.insert(m);
      await this.reads(m, since);
      const dropped = await this.retention(m);
      await this.loadOld((dropped.from! - 1) / SPAN);
      await this.db.query(`ANALYZE notification_inbox`);
      await this.db.query(`CHECKPOINT`);
      log(
        `${label} round ${round}: ${Object.entries(m)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join('; ')}`,
      );
      all.push(m);
    }
    return all;
  }

  /**
   * Plans (EXPLAIN ANALYZE) of the reads, as NotificationRepository sends them, for user 42 from
   * the last id before the last round's inserts, and of the store statement's redelivery probe
   * (one fresh task, in a transaction rolled back): its lines that read the inbox.
   */
  async explainAll(label: string): Promise<void> {
    const [{ since }] = await this.db.query(`SELECT max(id) - ${INSERTS} AS since FROM notification_inbox`);
    const [{ floor }] = await this.db.query(`SELECT id_floor AS floor FROM notification_sequence WHERE user_id = '42'`);
    const reads: Record<string, string> = {
      'resume (catchUpFrom)': resumeSql('42', since),
      "end of user 42's inbox, from its id floor (inside notification_inbox_end)": endSearchSql('42', floor),
      'unread count': `SELECT count(*)::int FROM "notification_inbox" WHERE "user_id" = '42' AND "read_at" IS NULL`,
      holdsTask: `SELECT 1 FROM "notification_inbox" WHERE "task_id" = '${randomUUID()}'`,
    };
    for (const [title, sql] of Object.entries(reads)) {
      const plan: Array<{ 'QUERY PLAN': string }> = await this.db.query(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${sql}`,
      );
      console.log(`\n-- ${label}: ${title}\n${plan.map((line) => line['QUERY PLAN']).join('\n')}`);
    }
    const runner = this.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('BEGIN');
      const batch = [[randomUUID(), '{"text":"x"}', 'name', '()', '{}', Date.now(), null, '42']];
      const plan: Array<{ 'QUERY PLAN': string }> = await runner.query(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${singleUserStoreStatement(this.results.hasDateStarted)}`,
        [JSON.stringify(batch), 'bench'],
      );
      const lines = plan.map((line) => line['QUERY PLAN']);
      const probes = lines.filter((line) => /notification_inbox_from_\d+_task_id/.test(line));
      const executed = lines.filter(
        (line) => /Scan .*notification_inbox_from_\d+_task_id/.test(line) && !/never executed/.test(line),
      );
      console.log(
        `\n-- ${label}: store statement, one fresh task: ${probes.length} lines name a partition's task_id index, ${executed.length} of them executed\n${lines
          .filter((line) => /before|notification_inbox_from_\d+_task_id/.test(line))
          .slice(0, 8)
          .join('\n')}`,
      );
      await runner.query('ROLLBACK');
    } finally {
      await runner.release();
    }
  }
}

/**
 * NotificationRepository.catchUpFrom's statement, with its parameters written in, for EXPLAIN
 * only; and the search `notification_inbox_end` runs inside it (its plan is not shown by an
 * EXPLAIN of the call), with the user's id floor written in as the function's EXECUTE plans it.
 */
const resumeSql = (
  user: string,
  since: number,
) => `WITH "end" AS MATERIALIZED (SELECT end_id AS "endId", end_seq AS "endSeq" FROM "notification_inbox_end"('${user}'))
  SELECT "end".*, r.* FROM "end" LEFT JOIN LATERAL (
    SELECT "id", "seq", "task_id" AS "taskId", to_char("created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", "message"::text AS "messageJson" FROM "notification_inbox"
     WHERE "user_id" = '${user}' AND "id" > ${since} AND "id" <= "end"."endId" ORDER BY "id" LIMIT ${CATCH_UP_PAGE}) AS r ON true`;
const endSearchSql = (user: string, floor: number) =>
  `SELECT max("id") FROM "notification_inbox" WHERE "user_id" = '${user}' AND "id" >= ${floor}`;

const fmt = (value: number) =>
  value >= 1000 ? Math.round(value).toLocaleString('en') : value >= 10 ? value.toFixed(1) : value.toFixed(2);

function summary(runs: Measures[]): Record<string, { median: number; min: number; max: number }> {
  return Object.fromEntries(
    Object.keys(runs[0]).map((key) => {
      const values = runs.map((run) => run[key]);
      return [key, { median: median(values), min: Math.min(...values), max: Math.max(...values) }];
    }),
  );
}

async function main(): Promise<void> {
  const wallStarted = process.hrtime.bigint();
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/notify_scale_bench_${randomBytes(4).toString('hex')}`;
  let dropping: Promise<void> | null = null;
  const drop = () => (dropping ??= dropDatabase(url.toString()).then(() => log(`dropped ${url.pathname.slice(1)}`)));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      log(`${signal}: dropping the database`);
      void drop().finally(() => process.exit(130));
    });
  log(
    `${SMALL.toLocaleString('en')} vs ${LARGE.toLocaleString('en')} rows, ${USERS} users, ${ROUNDS} rounds; database ${url.pathname.slice(1)}; ${freeGb()} GB free`,
  );
  await createDatabaseIfMissing(url.toString());
  try {
    await migrateDatabase(url.toString());
    const db = new DataSource(dataSourceOptions(url.toString(), RESUME_CONCURRENCY + 2));
    await db.initialize();
    try {
      const bench = new Bench(db);
      await bench.setUp();
      log(`loading the small inbox: ${SMALL.toLocaleString('en')} rows`);
      const smallLoad = await bench.load([OLD_PARTITIONS - 1]);
      log(`small inbox: ${await bench.describe()}; loaded in ${smallLoad.seconds.toFixed(1)} s`);
      const small = await bench.rounds('small');
      let deleted: { seconds: number; walBytes: number } | null = null;
      if (WITH_DELETE) {
        deleted = await bench.batchedDelete();
        log(
          `batched DELETE of ${SPAN.toLocaleString('en')} rows: ${deleted.seconds.toFixed(1)} s, ${fmt(deleted.walBytes / 1e6)} MB of WAL`,
        );
        await bench.load([OLD_PARTITIONS - 1]);
      }
      await bench.explainAll('small');
      log(`growing to ${LARGE.toLocaleString('en')} rows`);
      const largeLoad = await bench.load(Array.from({ length: OLD_PARTITIONS - 1 }, (_, k) => k));
      await bench.nextDay();
      log(
        `large inbox: ${await bench.describe()}; ${LARGE - SMALL} rows loaded in ${largeLoad.seconds.toFixed(1)} s (${largeLoad.perMillion.toFixed(1)} s per million); ${freeGb()} GB free`,
      );
      const large = await bench.rounds('large');
      await bench.explainAll('large');

      const [s, l] = [summary(small), summary(large)];
      console.log(
        `\n| measure | ${SMALL.toLocaleString('en')} rows | ${LARGE.toLocaleString('en')} rows | ratio |\n|---|---|---|---|`,
      );
      for (const key of Object.keys(s)) {
        const range = (x: (typeof s)[string]) => `${fmt(x.median)} (${fmt(x.min)}–${fmt(x.max)})`;
        console.log(`| ${key} | ${range(s[key])} | ${range(l[key])} | ${(l[key].median / s[key].median).toFixed(2)} |`);
      }
      console.log(
        `\nLoad (generate_series, VACUUM ANALYZE, CHECKPOINT): small ${smallLoad.seconds.toFixed(1)} s (${smallLoad.perMillion.toFixed(1)} s per million); growth by ${(LARGE - SMALL).toLocaleString('en')} rows ${largeLoad.seconds.toFixed(1)} s (${largeLoad.perMillion.toFixed(1)} s per million)`,
      );
      if (deleted)
        console.log(
          `Pre-partitioning retention on ${SPAN.toLocaleString('en')} rows (batched DELETE of ${DELETE_BATCH_SIZE}, small inbox, once): ${deleted.seconds.toFixed(1)} s, ${fmt(deleted.walBytes / 1e6)} MB of WAL`,
        );
    } finally {
      await db.destroy();
    }
  } finally {
    await drop();
    log(`wall time ${(seconds(wallStarted) / 60).toFixed(1)} min; ${freeGb()} GB free`);
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
