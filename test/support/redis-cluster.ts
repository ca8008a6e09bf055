import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './test-context';

const run = promisify(execFile);

/**
 * A throwaway Redis Cluster of `masters` redis-server processes on spare loopback ports, no
 * replicas, nothing kept on disk: for testing the fan-out's cluster mode against the real thing.
 */
export class RedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const cluster = new RedisCluster(await sparePorts(masters), mkdtempSync(join(tmpdir(), 'redis-cluster-')));
    try {
      await cluster.create();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The seed nodes as REDIS_CLUSTER_NODES takes them. */
  get nodes(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** Runs one redis-cli command against a node and returns its raw output. */
  async cli(port: number, ...args: string[]): Promise<string> {
    return (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
  }

  /** The port of the master that owns the slot of a key or shard channel. */
  async ownerOf(key: string): Promise<number> {
    const slot = Number(await this.cli(this.ports[0], 'cluster', 'keyslot', key));
    const ranges = JSON.parse(await this.cli(this.ports[0], '--json', 'cluster', 'slots')) as Array<[number, number, [string, number]]>;
    const owner = ranges.find(([first, last]) => slot >= first && slot <= last);
    if (!owner) throw new Error(`no node serves slot ${slot} of ${key}`);
    return owner[2][1];
  }

  async stop(): Promise<void> {
    await Promise.all(this.ports.map((port) => this.cli(port, 'shutdown', 'nosave').catch(() => undefined)));
    // shutdown returns once the connection drops; the files go once each server is gone.
    await eventually(async () => ((await Promise.all(this.ports.map(isFree))).every(Boolean) ? true : undefined), 10_000, 'redis cluster nodes to exit');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async create(): Promise<void> {
    for (const port of this.ports) {
      await run('redis-server', [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(this.dir, `nodes-${port}.conf`),
        '--dir', this.dir,
        '--logfile', join(this.dir, `redis-${port}.log`),
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'yes',
      ]); // prettier-ignore
    }
    await eventually(async () => ((await Promise.all(this.ports.map((port) => this.cli(port, 'ping').catch(() => '')))).every((reply) => reply.trim() === 'PONG') ? true : undefined), 10_000, 'redis cluster nodes to start');
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.split(','), '--cluster-replicas', '0', '--cluster-yes']);
    await eventually(
      async () => ((await Promise.all(this.ports.map((port) => this.cli(port, 'cluster', 'info')))).every((info) => info.includes('cluster_state:ok')) ? true : undefined),
      20_000,
      'cluster_state:ok on every node',
    );
  }
}

/** Whether a loopback port can be listened on (nothing else has it). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports in 20000-29999 that are free along with their cluster bus port (port + 10000). */
async function sparePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!ports.includes(port) && (await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}
