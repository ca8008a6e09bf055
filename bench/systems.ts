import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const DIST = join(__dirname, '..');

export type SystemName = 'service' | 'baseline' | 'baseline-group-commit';

/** A system under test: a gateway process and a worker process sharing a database and a queue. */
export interface RunningSystem {
  name: SystemName;
  port: number;
  gatewayPid: number;
  workerPid: number;
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
const GROUP_COMMIT: Record<SystemName, string> = { service: '', baseline: '0', 'baseline-group-commit': '1' };

export async function startSystem(name: RunningSystem['name'], env: Record<string, string>): Promise<RunningSystem> {
  // A port found free can be taken before the gateway binds it (by an outgoing connection's
  // ephemeral port, after a scenario with thousands of sockets): then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(name, env);
    } catch (error) {
      if (attempt === 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(name: SystemName, env: Record<string, string>): Promise<RunningSystem> {
  const port = await freePort();
  const entry = ENTRY_POINTS[name === 'service' ? 'service' : 'baseline'];
  const processEnv = {
    ...process.env,
    ...env,
    PORT: String(port),
    WORKER_HTTP_PORT: '0',
    BASELINE_GROUP_COMMIT: GROUP_COMMIT[name],
  };
  const started = await Promise.allSettled([
    startProcess(join(DIST, entry.gateway), processEnv, entry.gatewayReady),
    startProcess(join(DIST, entry.worker), processEnv, entry.workerReady),
  ]);
  const children = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(children.map((child) => stopProcess(child)));
    throw failed.reason;
  }
  const [gateway, worker] = children;
  return {
    name,
    port,
    gatewayPid: gateway.pid!,
    workerPid: worker.pid!,
    async stop() {
      await Promise.all([gateway, worker].map((child) => stopProcess(child)));
    },
  };
}

/** Resident memory of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D/g, '')) * 1024;
}

function startProcess(file: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  // BENCH_PROFILE_DIR=<dir>: every process under test writes a CPU profile there when it stops.
  const profile = env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
