/**
 * `npm run bench:partition`: how long the migration that partitions the inbox takes on a populated
 * inbox, and the plans of the inbox's queries once three partitions hold rows (docs/partitioning.md).
 * On a database of its own, dropped at the end.
 *
 *   npm run bench:partition                   1,000,000 rows of 10,000 users
 *   npm run bench:partition -- --rows 5000000
 *   npm run bench:partition -- --prebuilt-index   with the plain (task_id, recipient_index) index
 *                                                 built beforehand, as docs/partitioning.md advises
 */
import { randomBytes } from 'node:crypto';
import { DataSource, MigrationInterface } from 'typeorm';
import { createDatabaseIfMissing, dataSourceOptions, dropDatabase } from '@app/persistence';

const args = process.argv.slice(2);
const rows = args.includes('--rows') ? Number(args[args.indexOf('--rows') + 1]) : 1_000_000;
const prebuiltIndex = args.includes('--prebuilt-index');
const USERS = 10_000;
const MIGRATIONS = dataSourceOptions('postgres://unused/unused').migrations as Array<new () => MigrationInterface>;
const PARTITIONED = MIGRATIONS.findIndex((migration) => migration.name === 'PartitionInboxById1764922500000');

/** User 42's rows lie in every partition; `$since` is one of its ids in the second one. */
const QUERIES: Record<string, string> = {
  'listing, newest first': `SELECT id, seq, message FROM notification_inbox WHERE user_id = '42' ORDER BY id DESC LIMIT 50`,
  'resume after an id': `SELECT id, seq, message FROM notification_inbox WHERE user_id = '42' AND id > $since AND id <= $end ORDER BY id LIMIT 1000`,
  'unread count': `SELECT count(*) FROM notification_inbox WHERE user_id = '42' AND read_at IS NULL`,
  'read receipt': `UPDATE notification_inbox SET read_at = now() WHERE user_id = '42' AND id = ANY(ARRAY[$id1, $id2]::bigint[]) AND read_at IS NULL RETURNING id`,
};

async function main() {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/notify');
  url.pathname = `/notify_partition_bench_${randomBytes(4).toString('hex')}`;
  await createDatabaseIfMissing(url.toString());
  try {
    await migrateTo(url.toString(), PARTITIONED);
    const db = new DataSource(dataSourceOptions(url.toString(), 1));
    await db.initialize();
    try {
      await db.query(
        `INSERT INTO notification_inbox (user_id, task_id, message, seq, created_at)
         SELECT (n % ${USERS})::text, 'task-' || n, '{"text":"a notification"}', n / ${USERS} + 1, now() - interval '1 second' * (${rows} - n)
           FROM generate_series(1, ${rows}) AS n`,
      );
      if (prebuiltIndex) {
        await db.query(`CREATE INDEX "prebuilt_task_id_recipient" ON notification_inbox (task_id, recipient_index)`);
      }
      await db.query(`VACUUM ANALYZE notification_inbox`);
      const started = process.hrtime.bigint();
      await db.runMigrations({ transaction: 'each' });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const [{ count }] = await db.query(
        `SELECT count(*)::int AS count FROM pg_indexes WHERE tablename = 'notification_inbox_from_min'`,
      );
      console.log(
        `Partitioning ${rows} rows took ${seconds.toFixed(2)} s (${((seconds * 1e6) / rows).toFixed(2)} s per million); the old table has ${count} indexes`,
      );
      await explainPlans(db);
    } finally {
      await db.destroy();
    }
  } finally {
    await dropDatabase(url.toString());
  }
}

async function migrateTo(url: string, count: number): Promise<void> {
  const db = new DataSource({ ...dataSourceOptions(url, 1), migrations: MIGRATIONS.slice(0, count) });
  await db.initialize();
  await db.runMigrations({ transaction: 'each' });
  await db.destroy();
}

/**
 * Fills the two partitions after the first with 100,000 rows each, of 1,000 users (so a page of
 * user 42 fits in the newest one), then explains every query.
 */
async function explainPlans(db: DataSource): Promise<void> {
  const partitions: Array<{ from: string }> = await db.query(
    `SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''(\\d+)')::bigint AS "from"
       FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'notification_inbox'::regclass AND pg_get_expr(c.relpartbound, c.oid) NOT LIKE '%MINVALUE%'
      ORDER BY 1`,
  );
  for (const { from } of partitions) {
    await db.query(
      `INSERT INTO notification_inbox (id, user_id, task_id, message, seq)
       SELECT $1::bigint + n, (n % 1000)::text, 'task-' || $1 || '-' || n, '{}', 1000 + n FROM generate_series(0, 99999) AS n`,
      [from],
    );
  }
  await db.query(`ANALYZE notification_inbox`);
  const [{ since, end, id1, id2 }] = await db.query(
    `SELECT (SELECT min(id) + 50000 FROM notification_inbox WHERE id >= $1 AND user_id = '42') AS since,
            (SELECT max(id) FROM notification_inbox) AS "end",
            (SELECT max(id) FROM notification_inbox WHERE id < $1 AND user_id = '42') AS id1,
            (SELECT max(id) FROM notification_inbox WHERE user_id = '42') AS id2`,
    [partitions[0].from],
  );
  for (const [name, query] of Object.entries(QUERIES)) {
    const sql = query.replace('$since', since).replace('$end', end).replace('$id1', id1).replace('$id2', id2);
    const plan: Array<{ 'QUERY PLAN': string }> = await db.query(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`,
    );
    console.log(`\n-- ${name}\n${sql}\n${plan.map((line) => line['QUERY PLAN']).join('\n')}`);
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
