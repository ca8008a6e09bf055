/**
 * `npm run bench`: starts the service (gateway + worker) and the baseline (bench/baseline: the
 * simplest code doing the same durable work) in turn on a database of their own, drives both
 * through the same load generator, and prints one table (optionally written as JSON with --json).
 *
 *   npm run bench                         every scenario at full size
 *   npm run bench -- --quick              small sizes, a smoke run
 *   npm run bench -- --only 1,2 --json bench.json
 *   npm run bench -- --repeat 5            interleaved rounds per comparison (default 3; 1 with --quick)
 *   npm run bench -- --only 1,5            scenario 5: tasks for lists of users (user_ids), the service alone
 *   npm run bench -- --only 6              scenario 6: idle sockets' CPU and Redis memory (a second table)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { BenchClients, percentile } from './bench-clients';
import { BenchPublisher } from './bench-publisher';
import { liveHeapBytes } from './heap-snapshot';
import { IdleRow, idleSockets } from './idle-sockets';
import { startCpuMeter } from './process-cpu';
import { RunningSystem, SystemName, rssOf, startSystem } from './systems';

interface Row {
  scenario: string;
  system: string;
  users: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Messages per second the publisher got confirmed. */
  publishRate?: number;
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** CPU µs per delivered notification: the gateway and worker, and those plus Postgres, RabbitMQ, Redis. */
  appCpuUs?: number;
  allCpuUs?: number;
  /** The gateway's and the worker's CPU µs per notification. */
  gatewayCpuUs?: number;
  workerCpuUs?: number;
  /** The shared services' CPU µs per notification, each. */
  servicesCpu?: string;
  ratio?: string;
  note?: string;
}

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const size = (full: number, small: number) => (quick ? small : full);
// Two runs of one system differ by up to ±15 % on this shared 2-core machine (Postgres
// checkpoints, the broker's disk writes): each comparison runs in interleaved rounds, reports medians.
const repeat = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : size(3, 1);

// The apps run with NODE_ENV=production, which refuses HMAC secrets under 32 bytes.
const SECRET = randomBytes(32).toString('hex');
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const databaseUrl = `${process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432'}/notify_bench_${runId}`;
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The service as shipped: only what a benchmark needs that no deployment would set. */
const baseEnv = {
  DATABASE_URL: databaseUrl,
  AMQP_URL: amqpUrl,
  AMQP_QUEUE: `bench_${runId}`,
  REDIS_CHANNEL_PREFIX: `bench:${runId}:`,
  JWT_SECRET: SECRET,
  LOG_LEVEL: 'info',
  NOTIFICATION_RETENTION_DAYS: '0',
  // The load generator is one client address holding every socket, at a connection rate no real client has.
  WS_MAX_SOCKETS_PER_IP: '1000000',
  WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '100000',
  NODE_ENV: 'production',
};
const rows: Row[] = [];
const idleRows: IdleRow[] = [];
const SERVICE_NAMES: Record<string, string> = { postgres: 'Postgres', 'beam.smp': 'RabbitMQ', 'redis-server': 'Redis' };

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(__dirname, '..', 'apps', 'worker', 'src', 'migrate.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: 'ignore',
  });
  try {
    const fewUsers = wants('1') ? await compare('1 throughput', size(200, 50), size(50_000, 3_000)) : null;
    if (wants('2')) await compare('2 latency @1000/s', size(200, 50), size(20_000, 3_000), 1000);
    if (wants('3')) {
      for (const count of quick ? [1_000] : [10_000, Math.min(50_000, socketsThisMachineAllows())]) {
        await connections('baseline', count);
        await connections('service', count);
      }
    }
    if (wants('4')) {
      const manyUsers = await compare('4 scale: 10k users', size(10_000, 1_000), size(50_000, 3_000));
      const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)} %`;
      const ofFewUsers =
        fewUsers &&
        `throughput ${percent(manyUsers.throughput, fewUsers.throughput)} of scenario 1's, CPU per notification ${percent(manyUsers.allCpuUs!, fewUsers.allCpuUs!)}`;
      manyUsers.note = [manyUsers.note, ofFewUsers].filter(Boolean).join('; ');
    }
    if (wants('5')) for (const listSize of quick ? [10, 100] : [100, 1000]) await recipientLists(listSize, fewUsers);
    if (wants('6')) {
      for (const name of ['baseline', 'service'] as const) {
        idleRows.push(
          await idleSockets(name, {
            env: baseEnv,
            databaseUrl,
            redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
            prefix: baseEnv.REDIS_CHANNEL_PREFIX,
            sockets: size(10_000, 1_000),
            // Several of the SDK's 25 s pings, and 6 of the gateway's 10 s presence heartbeats, per window.
            windowMs: size(60_000, 30_000),
            settleMs: size(10_000, 3_000),
            urlFor: socketUrl,
          }),
        );
      }
    }
  } finally {
    await dropDatabase();
  }
  if (rows.length > 0 || idleRows.length === 0) printTable();
  if (idleRows.length > 0) printIdleTable();
  if (jsonFile)
    writeFileSync(
      jsonFile,
      `${JSON.stringify({ date: new Date().toISOString(), quick, rows, ...(idleRows.length > 0 && { idle: idleRows }) }, null, 2)}\n`,
    );
}

function wants(scenario: string): boolean {
  return !only || only.includes(scenario);
}

/**
 * The same load on the baseline and the service in `repeat` interleaved rounds; the service's row
 * carries its ratios to the baseline's (throughput, or p99 at a fixed rate; and CPU).
 */
async function compare(scenario: string, users: number, count: number, rate?: number): Promise<Row> {
  const baselineRuns: Row[] = [];
  const serviceRuns: Row[] = [];
  for (let round = 0; round < repeat; round++) {
    baselineRuns.push(await measure(scenario, 'baseline', users, count, rate));
    serviceRuns.push(await measure(scenario, 'service', users, count, rate));
  }
  const baseline = medianOf(baselineRuns, rate !== undefined);
  const service = medianOf(serviceRuns, rate !== undefined);
  const cpu = `apps CPU ${(service.appCpuUs! / baseline.appCpuUs!).toFixed(2)}x`;
  service.ratio = rate
    ? `p99 ${(service.p99 / baseline.p99).toFixed(2)}x; ${cpu}`
    : `${((100 * service.throughput) / baseline.throughput).toFixed(0)} %; ${cpu}`;
  rows.push(baseline, service);
  return service;
}

/**
 * Tasks for lists of `listSize` users (`user_ids`), as many deliveries as scenario 1 (each task
 * reaches `listSize` of the sockets): deliveries per second beside scenario 1's single-user tasks.
 * The service alone: the baseline takes one user per message.
 */
async function recipientLists(listSize: number, fewUsers: Row | null): Promise<void> {
  const deliveries = size(50_000, 3_000);
  const tasks = Math.ceil(deliveries / listSize);
  const runs: Row[] = [];
  for (let round = 0; round < repeat; round++)
    runs.push(await measure(`5 lists of ${listSize}`, 'service', size(1_000, 100), tasks, undefined, listSize));
  const row = medianOf(runs, false);
  const ofFewUsers =
    fewUsers && `delivered/s ${((100 * row.throughput) / fewUsers.throughput).toFixed(0)} % of scenario 1's service`;
  row.note = [`${tasks} tasks of ${listSize} users; published/s counts tasks`, row.note, ofFewUsers]
    .filter(Boolean)
    .join('; ');
  rows.push(row);
}

/** The median run (by p99 for a latency scenario, else by throughput); lost and duplicates of the worst run. */
function medianOf(runs: Row[], byLatency: boolean): Row {
  const key = (row: Row) => (byLatency ? row.p99 : row.throughput);
  const median = [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)];
  const lost = Math.max(...runs.map((run) => run.lost));
  const duplicates = Math.max(...runs.map((run) => run.duplicates));
  const rounds = runs.length > 1 ? `rounds: ${runs.map(key).join(', ')}` : undefined;
  const note = [rounds, median.servicesCpu && `services CPU µs/n: ${median.servicesCpu}`].filter(Boolean).join('; ');
  const middle = (value: (row: Row) => number | undefined) =>
    runs.map(value).sort((a, b) => (a ?? 0) - (b ?? 0))[Math.floor(runs.length / 2)];
  return {
    ...median,
    lost,
    duplicates,
    note,
    appCpuUs: middle((run) => run.appCpuUs),
    gatewayCpuUs: middle((run) => run.gatewayCpuUs),
    workerCpuUs: middle((run) => run.workerCpuUs),
    allCpuUs: middle((run) => run.allCpuUs),
    publishRate: middle((run) => run.publishRate),
  };
}

/**
 * One run of `count` tasks, each for one user or, with `listSize`, for that many consecutive
 * users (`user_ids`). At a fixed `rate`, the worker runs from the start and latency is publish to receipt.
 * Without one (throughput), the queue is filled first and the worker started after, so that the
 * publisher, itself a process on these two cores, can never be what limits delivery; throughput is
 * then deliveries from the first receipt to the last, and latencies are queueing time.
 */
async function measure(
  scenario: string,
  name: SystemName,
  userCount: number,
  count: number,
  rate?: number,
  listSize = 1,
): Promise<Row> {
  const system = await startSystem(name, baseEnv, { workerLater: rate === undefined });
  const expected = count * listSize;
  const clients = new BenchClients();
  const publisher = await BenchPublisher.connect(amqpUrl, baseEnv.AMQP_QUEUE);
  try {
    const users = Array.from({ length: userCount }, (_, i) => `u${i}`);
    await clients.open(users, (user) => socketUrl(system, user));
    let cpu = rate ? startCpuMeter([system.gatewayPid, system.workerPid!]) : null;
    const listFrom = (first: number) => Array.from({ length: listSize }, (_, i) => users[(first + i) % users.length]);
    const published = await publisher.publish(
      count,
      (seq) => (listSize === 1 ? users[seq % users.length] : listFrom(seq * listSize)),
      rate,
    );
    if (!cpu) cpu = startCpuMeter([system.gatewayPid, await system.startWorker()]);
    const deadline = Date.now() + Math.max(60_000, expected / 100);
    while (clients.result().delivered < expected && Date.now() < deadline) await sleep(100);
    const cpuUse = cpu.stop();
    await sleep(500); // late duplicates, if any
    const stats = clients.result();
    const sorted = stats.latenciesMs.sort((a, b) => a - b);
    const elapsed = (stats.lastReceiptAt - (rate ? published.startedAt : stats.firstReceiptAt)) / 1000;
    return {
      scenario,
      system: name,
      users: userCount,
      sent: expected,
      delivered: stats.delivered,
      lost: expected - stats.delivered,
      duplicates: stats.duplicates,
      publishRate: Math.round(count / ((published.confirmedAt - published.startedAt) / 1000)),
      throughput: Math.round(stats.delivered / elapsed),
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
      appCpuUs: Math.round((cpuUse.apps * 1e6) / stats.delivered),
      allCpuUs: Math.round((cpuUse.all * 1e6) / stats.delivered),
      gatewayCpuUs: Math.round((cpuUse.perApp[0] * 1e6) / stats.delivered),
      workerCpuUs: Math.round((cpuUse.perApp[1] * 1e6) / stats.delivered),
      servicesCpu: Object.entries(cpuUse.byService)
        .map(
          ([command, seconds]) =>
            `${SERVICE_NAMES[command] ?? command} ${Math.round((seconds * 1e6) / stats.delivered)}`,
        )
        .join(', '),
    };
  } finally {
    await clients.closeAll();
    await publisher.purge();
    await publisher.close();
    await system.stop();
    await truncate();
  }
}

/**
 * Idle authenticated sockets on one gateway: RSS per socket, heap per socket (two heap snapshots,
 * each after a full GC: with one socket and with all of them), and all still open after 30 s.
 */
async function connections(name: SystemName, count: number): Promise<void> {
  const heapDir = mkdtempSync(join(tmpdir(), 'bench-heap-'));
  const system = await startSystem(name, baseEnv, { heapDir });
  const clients = new BenchClients();
  const warmup = new BenchClients();
  try {
    await warmup.open(['warmup'], (user) => socketUrl(system, user));
    await sleep(1000);
    const heapBefore = await liveHeapBytes(await system.snapshotGatewayHeap());
    const rssBefore = rssOf(system.gatewayPid);
    const started = Date.now();
    await clients.open(
      Array.from({ length: count }, (_, i) => `idle${i}`),
      (user) => socketUrl(system, user),
      500,
    );
    const openedIn = (Date.now() - started) / 1000;
    await sleep(size(30_000, 5_000));
    const stillOpen = clients.openCount();
    const rssPerSocket = (rssOf(system.gatewayPid) - rssBefore) / count;
    const heapPerSocket = ((await liveHeapBytes(await system.snapshotGatewayHeap())) - heapBefore) / count;
    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    rows.push({
      scenario: `3 connections: ${count}`,
      system: name,
      users: count,
      sent: 0,
      delivered: 0,
      lost: count - stillOpen,
      duplicates: 0,
      throughput: 0,
      p50: NaN,
      p90: NaN,
      p99: NaN,
      max: NaN,
      note: `${stillOpen}/${count} open after ${quick ? 5 : 30} s; gateway heap ${kb(heapPerSocket)} KB/socket, RSS ${kb(rssPerSocket)} KB/socket; opened in ${openedIn.toFixed(1)} s`,
    });
  } finally {
    await clients.closeAll();
    await warmup.closeAll();
    await system.stop();
    rmSync(heapDir, { recursive: true, force: true });
  }
}

/**
 * A process may open as many sockets as its file limit allows, and the gateway and the load
 * generator hold one each per connection. Where the hard limit cannot be raised (a container
 * without CAP_SYS_RESOURCE), that limit decides the largest connection test.
 */
function socketsThisMachineAllows(): number {
  const hardLimit = Number(execFileSync('bash', ['-c', 'ulimit -Hn']).toString().trim());
  return Number.isFinite(hardLimit) ? Math.floor((hardLimit - 2_000) / 1_000) * 1_000 : 50_000;
}

function socketUrl(system: RunningSystem, userId: string): string {
  const token = jwt.sign({ user_id: userId }, SECRET, { expiresIn: 3600 });
  return `ws://127.0.0.1:${system.port}/ws/notifications/?token=${token}`;
}

async function truncate(): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('TRUNCATE notification_inbox, notification_sequence, django_celery_results_taskresult');
  await db.query('DROP TABLE IF EXISTS baseline_inbox, baseline_result');
  await db.end();
}

async function dropDatabase(): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const db = new Client({ connectionString: url.toString() });
  await db.connect();
  await db.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await db.end();
}

function printTable(): void {
  const format = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '' : String(value));
  const header = [
    'scenario',
    'system',
    'users',
    'sent',
    'delivered',
    'lost',
    'dups',
    'published/s',
    'delivered/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'apps CPU µs/n (gateway+worker)',
    'all CPU µs/n',
    'vs baseline',
    'note',
  ];
  const lines = rows.map((row) =>
    [
      row.scenario,
      row.system,
      row.users,
      row.sent,
      row.delivered,
      row.lost,
      row.duplicates,
      row.publishRate,
      row.throughput || undefined,
      row.p50,
      row.p90,
      row.p99,
      row.max,
      row.appCpuUs === undefined ? undefined : `${row.appCpuUs} (${row.gatewayCpuUs}+${row.workerCpuUs})`,
      row.allCpuUs,
    ]
      .map((v) => (typeof v === 'string' ? v : format(v)))
      .concat([row.ratio ?? '', row.note ?? '']),
  );
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);
}

/** Scenario 6: µs of CPU per socket per second (= cores per million sockets), Redis bytes per channel. */
function printIdleTable(): void {
  const header = [
    'scenario',
    'system',
    'sockets',
    'gateway CPU µs/socket/s (silent)',
    'gateway CPU µs/socket/s (SDK pings every 25 s)',
    'gateway CPU µs per ping (pings/s: at 25 s; at 5 s)',
    'Redis CPU µs/socket/s (silent)',
    "Postgres CPU µs/socket/s (silent, the run database's backends)",
    'Redis bytes/socket (open; close)',
    'of which keys (presence) bytes/socket',
    'Redis bytes/channel',
    'note',
  ];
  console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
  for (const row of idleRows) {
    const cells = [
      row.scenario,
      row.system,
      row.sockets,
      row.gatewayUsPerSocketSecond,
      row.pingingGatewayUsPerSocketSecond,
      row.gatewayUsPerPing === undefined
        ? ''
        : `${row.gatewayUsPerPing} (${Math.round(row.pongs / row.windowSeconds)}/s); ${row.gatewayUsPerPingFast} (${Math.round(row.pongsFast / row.windowSeconds)}/s)`,
      row.redisUsPerSocketSecond,
      row.postgresUsPerSocketSecond,
      `${row.redisBytesPerSocketUp}; ${row.redisBytesPerSocketDown}`,
      row.keyBytesPerSocket,
      row.redisBytesPerChannel,
      `${row.note}; used_memory spread within one reading ≤ ${row.usedMemorySpread} B`,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
