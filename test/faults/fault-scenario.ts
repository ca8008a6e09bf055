import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess } from '@test/support/app-process';
import { eventually, testConfig, uniqueName, withDatabase } from '@test/support/test-context';
import { FrontendClient } from './frontend-client';
import { ReliablePublisher } from './reliable-publisher';

export interface ScenarioReport {
  scenario: string;
  sockets: number;
  sent: number;
  /** Socket deliveries expected: each notification to every socket of its user. */
  expected: number;
  delivered: number;
  lost: number;
  duplicatesDropped: number;
  duplicatesAfterDedupe: number;
  reconnects: number;
  /** Catch-ups the gateway answered `unavailable` (inbox down), asked for again by the client. */
  catchUpRetries: number;
  /** Tokens the frontends refreshed in place, and sockets closed at a token's expiry (4001). */
  tokenRefreshes: number;
  expiryCloses: number;
  publishRetries: number;
  seconds: number;
}

export interface ScenarioOptions {
  users: number;
  /** How many users hold a second socket. */
  twoSocketUsers: number;
  notifications: number;
  perSecond: number;
}

/** 2 gateways and 1 worker started as processes, plus the frontends connected to them. */
export class Cluster {
  readonly gateways: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  /** Processes the scenario killed on purpose. */
  readonly killed = new Set<AppProcess>();
  readonly clients: FrontendClient[] = [];
  readonly queue = uniqueName('send_notification');
  readonly env: Record<string, string> = {
    AMQP_QUEUE: this.queue,
    PORT: '0',
    WS_MAX_SOCKETS_PER_IP: '100000',
    WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: '100000',
    WS_MAX_FRAMES_PER_SECOND: '1000',
  };

  async start(): Promise<void> {
    const [a, b, worker] = await Promise.all([this.startGateway(), this.startGateway(), this.startWorker()]);
    this.gateways.push(a, b);
    this.workers.push(worker);
  }

  startGateway(): Promise<AppProcess> {
    return AppProcess.start('gateway', this.env, /Gateway listening/);
  }

  startWorker(): Promise<AppProcess> {
    return AppProcess.start('worker', this.env, /consuming/);
  }

  async kill(app: AppProcess): Promise<void> {
    this.killed.add(app);
    await app.stop('SIGKILL');
  }

  /** The ws:// base URLs of the gateways running now. */
  liveGatewayUrls = (): string[] =>
    this.gateways.filter((g) => g.running).map((g) => gatewayUrl(g).replace('http', 'ws'));

  /** Connects `users` users (the first `twoSocketUsers` with two sockets), alternating gateways. */
  async connect(prefix: string, users: number, twoSocketUsers: number): Promise<string[]> {
    const userIds = Array.from({ length: users }, (_, i) => `${prefix}-${i}`);
    const fresh: FrontendClient[] = [];
    userIds.forEach((userId, i) => {
      for (let k = 0; k < (i < twoSocketUsers ? 2 : 1); k++)
        fresh.push(new FrontendClient(userId, this.liveGatewayUrls, fresh.length));
    });
    for (let i = 0; i < fresh.length; i += 100) {
      fresh.slice(i, i + 100).forEach((client) => client.start());
      await eventually(
        () => (fresh.slice(i, i + 100).every((c) => c.isConnected) ? true : undefined),
        30_000,
        'clients to connect',
      );
    }
    this.clients.push(...fresh);
    return userIds;
  }

  /** Every process the scenario did not kill is still running; health says ready everywhere. */
  async assertHealthy(): Promise<void> {
    const crashed = [...this.gateways, ...this.workers].filter((app) => !this.killed.has(app) && !app.running);
    if (crashed.length)
      throw new Error(
        `crashed: ${crashed.map((app) => `${app.name}\n${app.logLines.slice(-30).join('\n')}`).join('\n')}`,
      );
    const urls = [
      ...this.gateways.filter((g) => g.running).map(gatewayUrl),
      ...this.workers
        .filter((w) => w.running)
        .map((w) => /health on (\S+)/.exec(logMessages(w).find((m) => /health on /.test(m))!)![1]),
    ];
    for (const url of urls) {
      await eventually(
        async () => ((await fetch(`${url}/health/ready`).catch(() => null))?.status === 200 ? true : undefined),
        60_000,
        `${url} ready`,
      );
    }
  }

  async stop(): Promise<number[]> {
    await Promise.all(this.clients.map((client) => client.stop()));
    const running = [...this.gateways, ...this.workers].filter((app) => app.running);
    const codes = await Promise.all(running.map(async (app) => (await app.stop()) ?? -1));
    const logDir = process.env.FAULTS_LOG_DIR; // to see what the apps did: FAULTS_LOG_DIR=/tmp/faults
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      [...this.gateways, ...this.workers].forEach((app, i) =>
        writeFileSync(`${logDir}/${this.queue}-${i}-${app.name.replace(/\W/g, '')}.log`, app.logLines.join('\n')),
      );
    }
    return codes;
  }
}

export function gatewayUrl(gateway: AppProcess): string {
  return gateway.httpUrl();
}

function logMessages(app: AppProcess): string[] {
  return app.logs().flatMap((log) => (typeof log.msg === 'string' ? [log.msg] : []));
}

/**
 * Runs one scenario: clients connected, a steady stream published, `fault` injected once a third
 * of it is out (it must restore what it broke), then waits for every result row and delivery and
 * checks that nothing was lost or processed twice.
 */
export async function runScenario(
  name: string,
  options: ScenarioOptions,
  fault: (cluster: Cluster) => Promise<void>,
): Promise<ScenarioReport> {
  const started = Date.now();
  const waitedBefore = waitedForOthersMs;
  const cluster = new Cluster();
  const publisher = new ReliablePublisher(testConfig().AMQP_URL, cluster.queue);
  try {
    await cluster.start();
    const users = await cluster.connect(
      name.replace(/\W+/g, '').slice(0, 12) + uniqueName('').slice(-6),
      options.users,
      options.twoSocketUsers,
    );
    const publishing = publisher.run(options.notifications, options.perSecond, (i) => users[i % users.length]);
    await sleep(((options.notifications / options.perSecond) * 1000) / 3);
    await fault(cluster);
    await publishing;
    const taskIds = [...publisher.tasks.keys()];
    if (taskIds.length !== options.notifications)
      throw new Error(`published ${taskIds.length} of ${options.notifications}`);

    // Every task has exactly one terminal row, SUCCESS.
    const rows = await eventually(
      async () => {
        const found = await resultRows(taskIds);
        return found.filter((row) => row.status === 'SUCCESS').length === taskIds.length ? found : undefined;
      },
      120_000,
      'a SUCCESS row for every task',
    ).catch(async (error: Error) => {
      const found = await resultRows(taskIds);
      throw new Error(`${error.message}: ${found.length} rows for ${taskIds.length} tasks`);
    });
    const perTask = new Map<string, number>();
    for (const row of rows) perTask.set(row.task_id, (perTask.get(row.task_id) ?? 0) + 1);
    const doubled = [...perTask].filter(([, count]) => count !== 1);
    if (rows.length !== taskIds.length || doubled.length)
      throw new Error(`result rows: ${rows.length} for ${taskIds.length} tasks; ${doubled.length} tasks with several`);

    // Every socket of the user got each of its notifications (it had to wait for the last ones).
    const byUser = new Map<string, string[]>();
    for (const [taskId, userId] of publisher.tasks) byUser.set(userId, [...(byUser.get(userId) ?? []), taskId]);
    const missing = () =>
      cluster.clients.reduce(
        (sum, client) => sum + (byUser.get(client.userId) ?? []).filter((t) => !client.received.has(t)).length,
        0,
      );
    await eventually(() => (missing() === 0 ? true : undefined), 60_000, 'every notification at every socket').catch(
      () => undefined,
    );
    await sleep(500); // late duplicates, if any, would show now

    await cluster.assertHealthy();
    const expected = cluster.clients.reduce((sum, client) => sum + (byUser.get(client.userId)?.length ?? 0), 0);
    const lost = missing();
    const report: ScenarioReport = {
      scenario: name,
      sockets: cluster.clients.length,
      sent: taskIds.length,
      expected,
      delivered: expected - lost,
      lost,
      duplicatesDropped: cluster.clients.reduce((sum, client) => sum + client.duplicates, 0),
      duplicatesAfterDedupe: cluster.clients.reduce(
        (sum, client) => sum + [...client.received.values()].filter((n) => n > 1).length,
        0,
      ),
      reconnects: cluster.clients.reduce((sum, client) => sum + client.connects - 1, 0),
      catchUpRetries: cluster.clients.reduce((sum, client) => sum + client.unavailable, 0),
      tokenRefreshes: cluster.clients.reduce((sum, client) => sum + client.refreshes, 0),
      expiryCloses: cluster.clients.reduce((sum, client) => sum + client.expiryCloses, 0),
      publishRetries: publisher.retries,
      seconds: 0,
    };
    const stray = cluster.clients.flatMap((client) =>
      [...client.received.keys()].filter((t) => publisher.tasks.get(t) !== client.userId),
    );
    const gaps = cluster.clients.reduce((sum, client) => sum + client.gaps, 0);
    if (stray.length || gaps)
      throw new Error(`${stray.length} notifications reached the wrong user; ${gaps} resume gaps`);
    const exitCodes = await cluster.stop();
    if (exitCodes.some((code) => code !== 0)) throw new Error(`apps exited with ${exitCodes.join(', ')}`);
    report.seconds = Math.round((Date.now() - started - (waitedForOthersMs - waitedBefore)) / 1000);
    return report;
  } finally {
    await cluster.stop().catch(() => undefined);
    await publisher.close();
    await dropQueues(cluster.queue);
  }
}

async function resultRows(taskIds: string[]): Promise<Array<{ task_id: string; status: string }>> {
  return withDatabase(
    async (db) =>
      (
        await db.query('SELECT task_id, status FROM django_celery_results_taskresult WHERE task_id = ANY($1)', [
          taskIds,
        ])
      ).rows,
  );
}

async function dropQueues(queue: string): Promise<void> {
  const amqp = await import('amqplib');
  const connection = await amqp.connect(testConfig().AMQP_URL).catch(() => null);
  if (!connection) return;
  const channel = await connection.createChannel();
  await channel.deleteQueue(queue).catch(() => undefined);
  await channel.deleteQueue(`${queue}.dead-letter`).catch(() => undefined);
  await connection.close().catch(() => undefined);
}

// ---- the shared services (Postgres, Redis, RabbitMQ), restarted for real ----

const sh = (command: string, timeout = 120_000) => execSync(command, { stdio: 'pipe', timeout, encoding: 'utf8' });
const ok = (command: string) => {
  try {
    sh(command, 10_000);
    return true;
  } catch {
    return false;
  }
};

/** Time spent waiting for other jest runs, left out of the scenarios' durations. */
let waitedForOthersMs = 0;

/** Other jest runs (not this one) on the machine use the same services: wait until they end. */
export async function waitForOtherJestRuns(): Promise<void> {
  const started = Date.now();
  const mine = new Set([process.pid, process.ppid]);
  const others = () =>
    sh('pgrep -fa jest || true')
      .split('\n')
      .filter((line) => line.trim() && !/jest\.faults\.config|pgrep/.test(line))
      .filter((line) => !mine.has(Number(line.split(' ')[0])));
  for (let waited = 0; waited < 180_000 && others().length; waited += 10_000) await sleep(10_000);
  waitedForOthersMs += Date.now() - started;
}

export const services = {
  async stopRabbit() {
    sh('rabbitmqctl stop_app');
  },
  async startRabbit() {
    sh('rabbitmqctl start_app');
    sh('timeout 120 rabbitmqctl await_startup');
  },
  async rabbitUp() {
    if (!ok('rabbitmqctl -q status')) {
      sh('rabbitmq-server -detached');
    }
    if (!ok('rabbitmqctl -q await_startup')) sh('rabbitmqctl start_app');
    sh('timeout 120 rabbitmqctl await_startup');
  },
  async stopRedis() {
    sh('redis-cli -p 6379 shutdown nosave || true');
  },
  async startRedis() {
    sh('mkdir -p /var/lib/redis /var/log/redis');
    sh(
      `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`,
    );
    await eventually(() => (ok('redis-cli -p 6379 ping') ? true : undefined), 30_000, 'Redis');
  },
  async redisUp() {
    if (!ok('redis-cli -p 6379 ping')) await services.startRedis();
  },
  async stopPostgres() {
    sh(`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main stop -m fast`);
  },
  async startPostgres() {
    sh(`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
    await eventually(() => (ok('pg_isready -q -h 127.0.0.1 -p 5432') ? true : undefined), 60_000, 'Postgres');
  },
  async postgresUp() {
    if (!ok('pg_isready -q -h 127.0.0.1 -p 5432')) await services.startPostgres();
  },
  async allUp() {
    await services.postgresUp();
    await services.redisUp();
    await services.rabbitUp();
  },
};
