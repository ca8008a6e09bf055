import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const DIST = join(__dirname, '..');

export type SystemName = 'service' | 'baseline';

/**
 * A system under test: a gateway process and a worker process sharing a database and a queue.
 * The worker starts with the gateway, or, with `workerLater`, only when `startWorker()` is called
 * (the throughput scenarios fill the queue first, so the publisher is never what limits them).
 */
export interface RunningSystem {
  name: SystemName;
  port: number;
  gatewayPid: number;
  /** Set once the worker is running. */
  workerPid: number | null;
  startWorker(): Promise<number>;
  /** Writes a heap snapshot of the gateway (which starts with `--heapsnapshot-signal`); resolves to its path. */
  snapshotGatewayHeap(): Promise<string>;
  stop(): Promise<void>;
}

const ENTRY_POINTS = {
  service: {
    gateway: 'apps/gateway/src/main.js',
    worker: 'apps/worker/src/main.js',
    gatewayReady: /Gateway listening/,
    workerReady: /consuming/,
  },
  baseline: {
    gateway: 'bench/baseline/baseline-gateway.js',
    worker: 'bench/baseline/baseline-worker.js',
    gatewayReady: /baseline gateway listening/,
    workerReady: /baseline worker consuming/,
  },
};
export interface StartOptions {
  workerLater?: boolean;
  /** Where the gateway writes heap snapshots. */
  heapDir?: string;
}

export async function startSystem(
  name: SystemName,
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<RunningSystem> {
  // A port found free can be taken before the gateway binds it (by an outgoing connection's
  // ephemeral port, after a scenario with thousands of sockets): then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(name, env, options);
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(name: SystemName, env: Record<string, string>, options: StartOptions): Promise<RunningSystem> {
  const port = await freePort();
  const entry = ENTRY_POINTS[name];
  const processEnv = { ...process.env, ...env, PORT: String(port), WORKER_HTTP_PORT: '0' };
  const heapFlags = options.heapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.heapDir}`] : [];
  const started = await Promise.allSettled([
    startProcess(join(DIST, entry.gateway), processEnv, entry.gatewayReady, heapFlags),
    options.workerLater ? Promise.resolve(null) : startProcess(join(DIST, entry.worker), processEnv, entry.workerReady),
  ]);
  const children = started.flatMap((result) => (result.status === 'fulfilled' && result.value ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(children.map((child) => stopProcess(child)));
    throw failed.reason;
  }
  const [gateway] = children;
  let worker: ChildProcess | null = children[1] ?? null;
  return {
    name,
    port,
    gatewayPid: gateway.pid!,
    get workerPid() {
      return worker?.pid ?? null;
    },
    async startWorker() {
      worker ??= await startProcess(join(DIST, entry.worker), processEnv, entry.workerReady);
      return worker.pid!;
    },
    snapshotGatewayHeap: () => snapshotHeap(gateway, options.heapDir),
    async stop() {
      await Promise.all([gateway, worker].flatMap((child) => (child ? [stopProcess(child)] : [])));
    },
  };
}

/** Signals the process to write a heap snapshot (after a full GC) and waits until it is written. */
async function snapshotHeap(child: ChildProcess, dir: string | undefined): Promise<string> {
  if (!dir) throw new Error('The gateway was started without a heap snapshot directory');
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  let lastSize = -1;
  for (let waited = 0; waited < 300_000; waited += 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const written = readdirSync(dir).find((file) => file.endsWith('.heapsnapshot') && !before.has(file));
    if (!written) continue;
    // Written in one go by the process: done once it stops growing.
    const size = statSync(join(dir, written)).size;
    if (size > 0 && size === lastSize) return join(dir, written);
    lastSize = size;
  }
  throw new Error('No heap snapshot within 5 minutes');
}

/** Resident memory of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D/g, '')) * 1024;
}

function startProcess(
  file: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  flags: string[] = [],
): Promise<ChildProcess> {
  // BENCH_PROFILE_DIR=<dir>: every process under test writes a CPU profile there when it stops.
  const profile = env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, ...flags, file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const notStarted = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not start in 30 s: ${output.slice(-2000)}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        output = '';
        clearTimeout(notStarted);
        resolve(child);
      } else if (output.length > 100_000) output = output.slice(-10_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(notStarted);
      reject(new Error(`${file} exited with ${code ?? signal}: ${output.slice(-2000)}`));
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    // Gone already, by itself or by a signal (then exitCode stays null).
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
