import { readFileSync, readdirSync } from 'node:fs';

/** The shared services' processes, by the name the kernel gives them. */
const SERVICE_COMMANDS = new Set(['postgres', 'beam.smp', 'redis-server']);
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, or 0 once it is gone (Linux). */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function servicePids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return SERVICE_COMMANDS.has(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      } catch {
        return false;
      }
    })
    .map(Number);
}

export interface CpuUse {
  /** The system's own processes (its gateway and worker). */
  apps: number;
  /** Those plus Postgres, RabbitMQ and Redis, which the system under test alone is using. */
  all: number;
}

/**
 * CPU used from now until `stop()`, in seconds. Throughput on a shared 2-core machine moves ±15 %
 * from run to run; CPU seconds per notification are what the system itself spends, so they say
 * whether a cost grows (with users, say) where throughput alone cannot.
 */
export function startCpuMeter(appPids: number[]): { stop(): CpuUse } {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSecondsOf(pid), 0);
  const servicesBefore = new Map(servicePids().map((pid) => [pid, cpuSecondsOf(pid)]));
  const appsBefore = sum(appPids);
  return {
    stop() {
      const apps = sum(appPids) - appsBefore;
      // A process started meanwhile (a Postgres backend) counts from its start.
      const services = servicePids().reduce(
        (total, pid) => total + cpuSecondsOf(pid) - (servicesBefore.get(pid) ?? 0),
        0,
      );
      return { apps, all: apps + services };
    },
  };
}
