import { setTimeout as sleep } from 'node:timers/promises';
import {
  Cluster,
  ScenarioOptions,
  ScenarioReport,
  runScenario,
  services,
  waitForOtherJestRuns,
} from './fault-scenario';

/**
 * The fault suite (`npm run test:faults`, after `npm run build`): 2 gateways and a worker as
 * processes, 100+ users with live sockets and a steady stream of notifications, and in turn one
 * fault each. After each: every notification reached every socket of its user exactly once (after
 * the client drops ids it has seen), every task has exactly one SUCCESS row, nothing crashed and
 * the apps reconnected by themselves. Postgres, Redis and RabbitMQ are really restarted: this
 * suite needs root and a machine of its own (it waits for other jest runs before each restart).
 */
describe('faults', () => {
  const reports: ScenarioReport[] = [];
  const stream: ScenarioOptions = { users: 120, twoSocketUsers: 20, notifications: 2500, perSecond: 200 };

  const scenario = async (name: string, options: ScenarioOptions, fault: (cluster: Cluster) => Promise<void>) => {
    const report = await runScenario(name, options, fault);
    reports.push(report);
    console.log(formatReport(report));
    expect(report.lost).toBe(0);
    expect(report.duplicatesAfterDedupe).toBe(0);
    expect(report.delivered).toBe(report.expected);
    expect(report.expiryCloses).toBe(0);
  };

  beforeAll(() => services.allUp());

  afterAll(async () => {
    await services.allUp();
    if (reports.length) console.log(markdownTable(reports));
  });

  it('1. the worker is killed with SIGKILL mid-stream and a new one started', () =>
    scenario('worker SIGKILL', stream, async (cluster) => {
      await cluster.kill(cluster.workers[0]);
      cluster.workers.push(await cluster.startWorker());
    }));

  it('2. one of two gateways is killed with SIGKILL; its clients resume on the other', () =>
    scenario('gateway SIGKILL', stream, async (cluster) => {
      await cluster.kill(cluster.gateways[0]);
      await sleep(3000);
      cluster.gateways.push(await cluster.startGateway());
    }));

  it('3. RabbitMQ restarts', () =>
    scenario('RabbitMQ restart', stream, async () => {
      await waitForOtherJestRuns();
      try {
        await services.stopRabbit();
        await sleep(2000);
      } finally {
        await services.startRabbit();
      }
    }));

  it('4. Redis restarts', () =>
    scenario('Redis restart', stream, async () => {
      await waitForOtherJestRuns();
      try {
        await services.stopRedis();
        await sleep(3000);
      } finally {
        await services.startRedis();
      }
    }));

  it('5. Postgres restarts', () =>
    scenario('Postgres restart', stream, async (cluster) => {
      await waitForOtherJestRuns();
      try {
        await services.stopPostgres();
        // Some clients reconnect while the inbox is down: their catch-up fails (`unavailable`) and
        // they ask again with a `resume` frame until it works.
        for (const client of cluster.clients.slice(0, 40)) client.drop();
        await sleep(3000);
      } finally {
        await services.startPostgres();
      }
    }));

  it('6. 1,000 sockets are dropped at once and reconnect with resume', () =>
    scenario(
      '1,000 sockets dropped at once',
      { users: 500, twoSocketUsers: 500, notifications: 2500, perSecond: 200 },
      async (cluster) => {
        const dropped = cluster.clients.slice(0, 1000);
        expect(dropped).toHaveLength(1000);
        for (const client of dropped) client.drop();
      },
    ));
});

function formatReport(r: ScenarioReport): string {
  return (
    `fault scenario "${r.scenario}": sent ${r.sent} to ${r.sockets} sockets; delivered ${r.delivered}/${r.expected}, lost ${r.lost}, ` +
    `duplicates dropped by clients ${r.duplicatesDropped}, duplicates after dedupe ${r.duplicatesAfterDedupe}; ` +
    `${r.reconnects} reconnects, ${r.catchUpRetries} catch-ups retried, ${r.tokenRefreshes} tokens refreshed in place ` +
    `(${r.expiryCloses} closed at expiry), ${r.publishRetries} publish retries, ${r.seconds} s`
  );
}

function markdownTable(reports: ScenarioReport[]): string {
  const rows = reports.map(
    (r) =>
      `| ${r.scenario} | ${r.sockets} | ${r.sent} | ${r.delivered} / ${r.expected} | ${r.lost} | ${r.duplicatesDropped} | ${r.duplicatesAfterDedupe} | ${r.reconnects} | ${r.catchUpRetries} | ${r.publishRetries} | ${r.seconds} |`,
  );
  return [
    '| scenario | sockets | sent | delivered / expected | lost | duplicates dropped by clients | duplicates after dedupe | reconnects | catch-ups retried | publish retries | seconds |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
