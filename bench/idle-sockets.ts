import { Redis } from 'ioredis';
import { Client } from 'pg';
import { WebSocket } from 'ws';
import { BenchClients } from './bench-clients';
import { CpuUse, cpuSecondsOf, startCpuMeter } from './process-cpu';
import { RunningSystem, SystemName, startSystem } from './systems';

/** The SDK's default (`pingIntervalMs`, libs/client): what an idle browser tab sends. */
const SDK_PING_INTERVAL_MS = 25_000;

/** One system's idle costs (scenario 6): what a connected socket costs while nothing is sent to it. */
export interface IdleRow {
  scenario: string;
  system: SystemName;
  sockets: number;
  /** Sockets still open at the end. */
  stillOpen: number;
  openedInSeconds: number;
  windowSeconds: number;
  /**
   * CPU seconds over each window: no sockets (one warm-up socket) before they open and after they
   * close, `sockets` silent, and sending the SDK's pings every 25 s and every 5 s.
   */
  cpuEmpty: CpuSeconds;
  cpuEmptyAfter: CpuSeconds;
  cpuIdle: CpuSeconds;
  cpuPinging: CpuSeconds;
  cpuPingingFast: CpuSeconds;
  /** (idle − the mean of the empty windows) / window / sockets: µs of CPU per socket per second (= cores per million sockets). */
  gatewayUsPerSocketSecond: number;
  redisUsPerSocketSecond: number;
  postgresUsPerSocketSecond: number;
  rabbitmqUsPerSocketSecond: number;
  /** The same for the gateway with every socket sending the SDK's ping every 25 s. */
  pingingGatewayUsPerSocketSecond: number;
  pingingRedisUsPerSocketSecond: number;
  /** Pongs received, and the gateway's µs per ping (over the empty windows' mean), at 25 s and at 5 s per socket. */
  pongs: number;
  gatewayUsPerPing?: number;
  pongsFast: number;
  gatewayUsPerPingFast?: number;
  /** Postgres backends of the run's database at the end of the silent window. */
  backends: number;
  /** Channels under the run's prefix, before and with the sockets (one per user). */
  channelsBefore: number;
  channelsWith: number;
  /** Redis `used_memory` delta per socket when they opened, and when they closed (two measurements). */
  redisBytesPerSocketUp: number;
  redisBytesPerSocketDown: number;
  /** Of which the run's keys (presence hashes), `MEMORY USAGE` summed: per socket. */
  keyBytesPerSocket: number;
  /** So, per subscribed channel: the used_memory delta at the opening less the keys'. Closing frees less (dict tables shrink later). */
  redisBytesPerChannel: number;
  /** Largest spread of used_memory over the 5 reads of one reading: Redis' other tenants' noise. */
  usedMemorySpread: number;
  note: string;
}

interface CpuSeconds {
  gateway: number;
  /** The whole Redis server (shared with whatever else uses it). */
  redis: number;
  /** Postgres' backends serving the run's database, the gateway's alone (the worker is not started). */
  postgres: number;
  /** Every Postgres process, other tenants' included: for reference. */
  postgresAll: number;
  rabbitmq: number;
}

export interface IdleOptions {
  env: Record<string, string>;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  sockets: number;
  windowMs: number;
  settleMs: number;
  urlFor(system: RunningSystem, userId: string): string;
}

/**
 * Idle sockets on one gateway (the worker is not started: nothing is published). In one gateway
 * process: Redis' used_memory and the gateway's, Redis', Postgres' and RabbitMQ's CPU over a window
 * with one warm-up socket; then `sockets` sockets of as many users (so as many channels), the same
 * readings over a window of silence and, for the service, two more with each socket sending the
 * SDK's ping every 25 s and every 5 s (at random phases); then used_memory again once they have
 * closed, and a last window without them (the empty windows' mean is what is subtracted). Whatever
 * the gateway does on its own clock (presence heartbeats every 10 s, the token-expiry clock every
 * second, token cut-off reads every 10 s) runs in every window; the difference is the sockets' share.
 */
export async function idleSockets(name: SystemName, options: IdleOptions): Promise<IdleRow> {
  const { sockets: count, windowMs, settleMs } = options;
  const redis = new Redis(options.redisUrl);
  const db = new Client({ connectionString: options.databaseUrl });
  await db.connect();
  const system = await startSystem(name, options.env, { workerLater: true });
  const warmup = new BenchClients();
  const clients = new BenchClients();
  try {
    await warmup.open(['idlewarm'], (user) => options.urlFor(system, user));
    await sleep(settleMs);
    const channelsBefore = await channelCount(redis, options.prefix);
    const memoryBefore = await usedMemory(redis);
    const keysBefore = await keyBytes(redis, options.prefix);
    const cpuEmpty = await cpuOver(system, db, windowMs);

    const started = Date.now();
    await clients.open(
      Array.from({ length: count }, (_, i) => `idle${i}`),
      (user) => options.urlFor(system, user),
      500,
    );
    const openedInSeconds = (Date.now() - started) / 1000;
    await sleep(settleMs); // connect-time position queries and presence writes done, the opening's garbage collected
    const channelsWith = await channelCount(redis, options.prefix);
    const memoryWith = await usedMemory(redis);
    const keysWith = await keyBytes(redis, options.prefix);
    const cpuIdle = await cpuOver(system, db, windowMs);

    const backends = (await backendsOf(db)).length;

    // The SDK's default; then 5 times as often, the rate a gateway holding 5 times as many sockets sees.
    let pinging = pingLikeTheSdk(clients.sockets, SDK_PING_INTERVAL_MS);
    const cpuPinging = await cpuOver(system, db, windowMs);
    const pongs = pinging.stop();
    pinging = pingLikeTheSdk(clients.sockets, SDK_PING_INTERVAL_MS / 5);
    const cpuPingingFast = await cpuOver(system, db, windowMs);
    const pongsFast = pinging.stop();
    const stillOpen = clients.openCount();

    await clients.closeAll();
    for (let waited = 0; waited < 30_000 && (await channelCount(redis, options.prefix)) > channelsBefore; waited += 500)
      await sleep(500);
    await sleep(2000); // the presence write of the closes (batched within 20 ms)
    const memoryAfter = await usedMemory(redis);
    const keysAfter = await keyBytes(redis, options.prefix);
    const cpuEmptyAfter = await cpuOver(system, db, windowMs);
    const empty = meanOf(cpuEmpty, cpuEmptyAfter);

    const perSocketSecond = (with_: number, without: number) =>
      Number((((with_ - without) * 1e6) / (windowMs / 1000) / count).toPrecision(2));
    const up = (memoryWith.median - memoryBefore.median) / count;
    const down = (memoryWith.median - memoryAfter.median) / count;
    // At the opening, as used_memory's: a hash whose fields are deleted keeps its table for a while.
    const keyBytesPerSocket = (keysWith - keysBefore) / count;
    const windowSeconds = windowMs / 1000;
    return {
      scenario: `6 idle sockets: ${count}`,
      system: name,
      sockets: count,
      stillOpen,
      openedInSeconds,
      windowSeconds,
      cpuEmpty,
      cpuEmptyAfter,
      cpuIdle,
      cpuPinging,
      cpuPingingFast,
      gatewayUsPerSocketSecond: perSocketSecond(cpuIdle.gateway, empty.gateway),
      redisUsPerSocketSecond: perSocketSecond(cpuIdle.redis, empty.redis),
      postgresUsPerSocketSecond: perSocketSecond(cpuIdle.postgres, empty.postgres),
      rabbitmqUsPerSocketSecond: perSocketSecond(cpuIdle.rabbitmq, empty.rabbitmq),
      pingingGatewayUsPerSocketSecond: perSocketSecond(cpuPinging.gateway, empty.gateway),
      pingingRedisUsPerSocketSecond: perSocketSecond(cpuPinging.redis, empty.redis),
      pongs,
      gatewayUsPerPing: pongs > 0 ? Math.round(((cpuPinging.gateway - empty.gateway) * 1e6) / pongs) : undefined,
      pongsFast,
      gatewayUsPerPingFast:
        pongsFast > 0 ? Math.round(((cpuPingingFast.gateway - empty.gateway) * 1e6) / pongsFast) : undefined,
      backends,
      channelsBefore,
      channelsWith,
      redisBytesPerSocketUp: Math.round(up),
      redisBytesPerSocketDown: Math.round(down),
      keyBytesPerSocket: Math.round(keyBytesPerSocket),
      redisBytesPerChannel: Math.round(up - keyBytesPerSocket),
      usedMemorySpread: Math.max(memoryBefore.spread, memoryWith.spread, memoryAfter.spread),
      note: [
        `${stillOpen}/${count} open at the end, opened in ${openedInSeconds.toFixed(1)} s`,
        `channels ${channelsBefore} → ${channelsWith}`,
        `CPU s over ${windowSeconds} s, no sockets / idle / pings every 25 s / every 5 s / no sockets after: ${describe(cpuEmpty, cpuIdle, cpuPinging, cpuPingingFast, cpuEmptyAfter)}`,
        `${pongs} and ${pongsFast} pongs`,
        `${backends} Postgres backends of the run's database`,
        `used_memory ${memoryBefore.median} → ${memoryWith.median} → ${memoryAfter.median} B`,
        `keys ${keysBefore} → ${keysWith} → ${keysAfter} B`,
      ]
        .filter(Boolean)
        .join('; '),
    };
  } finally {
    await clients.closeAll();
    await warmup.closeAll();
    await system.stop();
    redis.disconnect();
    await db.end();
  }
}

async function cpuOver(system: RunningSystem, db: Client, windowMs: number): Promise<CpuSeconds> {
  const backendsBefore = new Map((await backendsOf(db)).map((pid) => [pid, cpuSecondsOf(pid)]));
  const meter = startCpuMeter([system.gatewayPid]);
  await sleep(windowMs);
  const use: CpuUse = meter.stop();
  // A backend started meanwhile counts from its start; one gone meanwhile is lost (the pool keeps them).
  let backends = 0;
  for (const pid of await backendsOf(db)) backends += cpuSecondsOf(pid) - (backendsBefore.get(pid) ?? 0);
  return {
    gateway: round2(use.perApp[0]),
    redis: round2(use.byService['redis-server'] ?? 0),
    postgres: round2(backends),
    postgresAll: round2(use.byService.postgres ?? 0),
    rabbitmq: round2(use.byService['beam.smp'] ?? 0),
  };
}

/** The Postgres backends connected to the run's database, but this one. */
async function backendsOf(db: Client): Promise<number[]> {
  const { rows } = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rows.map((row) => row.pid);
}

function meanOf(a: CpuSeconds, b: CpuSeconds): CpuSeconds {
  const mean = (part: keyof CpuSeconds) => (a[part] + b[part]) / 2;
  return {
    gateway: mean('gateway'),
    redis: mean('redis'),
    postgres: mean('postgres'),
    postgresAll: mean('postgresAll'),
    rabbitmq: mean('rabbitmq'),
  };
}

function describe(...windows: CpuSeconds[]): string {
  return (['gateway', 'redis', 'postgres', 'postgresAll', 'rabbitmq'] as const)
    .map((part) => `${part} ${windows.map((window) => window[part]).join('/')}`)
    .join(', ');
}

/** Each socket sends `{"event":"ping"}` every `intervalMs`, the first at a random moment; counts the pongs. */
function pingLikeTheSdk(sockets: WebSocket[], intervalMs: number): { stop(): number } {
  let pongs = 0;
  const onMessage = (data: Buffer) => {
    if (data.includes('"pong"')) pongs++;
  };
  const timers = sockets.map((socket, index) => {
    socket.on('message', onMessage);
    const ping = () => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ event: 'ping', data: null, ref: index }));
    };
    let interval: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      ping();
      interval = setInterval(ping, intervalMs);
    }, Math.random() * intervalMs);
    return () => {
      clearTimeout(first);
      clearInterval(interval);
      socket.off('message', onMessage);
    };
  });
  return {
    stop() {
      for (const stop of timers) stop();
      return pongs;
    },
  };
}

/** Channels with a subscriber under `prefix` (Redis-wide: pub/sub ignores databases). */
async function channelCount(redis: Redis, prefix: string): Promise<number> {
  return (await redis.pubsub('CHANNELS', `${prefix}*`)).length;
}

/**
 * Redis' used_memory: the median of 5 reads 200 ms apart, and their spread (Redis may serve
 * other processes, whose changes show there).
 */
async function usedMemory(redis: Redis): Promise<{ median: number; spread: number }> {
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(200);
    reads.push(Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]));
  }
  reads.sort((a, b) => a - b);
  return { median: reads[2], spread: reads[4] - reads[0] };
}

/** `MEMORY USAGE` (every element sampled) of every key under `prefix`, summed. */
async function keyBytes(redis: Redis, prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) total += Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
  } while (cursor !== '0');
  return total;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
