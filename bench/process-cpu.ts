import { readFileSync, readdirSync } from 'node:fs';

/** The shared services' processes, by the name the kernel gives them. */
const SERVICE_COMMANDS = new Set(['postgres', 'beam.smp', 'redis-server']);
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, or 0 once it is gone (Linux). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The shared services' processes, each with its command (postgres, beam.smp, redis-server). */
function servicePids(): Map<number, string> {
  const found = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (SERVICE_COMMANDS.has(command)) found.set(Number(entry), command);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export interface CpuUse {
  /** The system's own processes (its gateway and worker), together and each (in the order given). */
  apps: number;
  perApp: number[];
  /** Those plus Postgres, RabbitMQ and Redis, which the system under test alone is using. */
  all: number;
  /** Each shared service's share of `all`, by command. */
  byService: Record<string, number>;
}

/**
 * CPU used from now until `stop()`, in seconds. Throughput on a shared 2-core machine moves ±15 %
 * from run to run; CPU seconds per notification are what the system itself spends, so they say
 * whether a cost grows (with users, say) where throughput alone cannot.
 */
export function startCpuMeter(appPids: number[]): { stop(): CpuUse } {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSecondsOf(pid), 0);
  const servicesBefore = new Map([...servicePids().keys()].map((pid) => [pid, cpuSecondsOf(pid)]));
  const appsBefore = sum(appPids);
  const eachBefore = appPids.map(cpuSecondsOf);
  return {
    stop() {
      const apps = sum(appPids) - appsBefore;
      const perApp = appPids.map((pid, i) => cpuSecondsOf(pid) - eachBefore[i]);
      // A process started meanwhile (a Postgres backend) counts from its start.
      const byService: Record<string, number> = {};
      for (const [pid, command] of servicePids()) {
        byService[command] = (byService[command] ?? 0) + cpuSecondsOf(pid) - (servicesBefore.get(pid) ?? 0);
      }
      const services = Object.values(byService).reduce((total, seconds) => total + seconds, 0);
      return { apps, perApp, all: apps + services, byService };
    },
  };
}
