import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isFree, sparePorts } from './spare-ports';
import { eventually } from './test-context';

/** Where Redis puts a node's cluster bus: its port + 10000. */
const CLUSTER_BUS_OFFSET = 10_000;

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
    const cluster = new RedisCluster(
      await sparePorts(masters, CLUSTER_BUS_OFFSET),
      mkdtempSync(join(tmpdir(), 'redis-cluster-')),
    );
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

  /** The slot of a key or shard channel. */
  async slotOf(key: string): Promise<number> {
    return Number(await this.cli(this.ports[0], 'cluster', 'keyslot', key));
  }

  /** The port of the master that owns a slot, as the node on `askPort` sees it. */
  async ownerOf(slot: number, askPort = this.ports[0]): Promise<number> {
    const ranges = JSON.parse(await this.cli(askPort, '--json', 'cluster', 'slots')) as Array<
      [number, number, [string, number]]
    >;
    const owner = ranges.find(([first, last]) => slot >= first && slot <= last);
    if (!owner) throw new Error(`no node serves slot ${slot}`);
    return owner[2][1];
  }

  /** Moves a slot (holding no keys) to the master on `port`, as resharding does, and waits until every node agrees. */
  async moveSlot(slot: number, port: number): Promise<void> {
    const from = await this.ownerOf(slot);
    const idOf = async (node: number) => (await this.cli(node, 'cluster', 'myid')).trim();
    await this.cli(port, 'cluster', 'setslot', String(slot), 'importing', await idOf(from));
    await this.cli(from, 'cluster', 'setslot', String(slot), 'migrating', await idOf(port));
    // As redis-cli --cluster does, and in CLUSTER SETSLOT's documented order: the destination first,
    // so that it owns the slot before the source drops the slot's channels and its subscribers
    // re-read the map (the other way round, a client that resubscribes at once is sent MOVED back).
    const rest = this.ports.filter((node) => node !== from && node !== port);
    for (const node of [port, from, ...rest])
      await this.cli(node, 'cluster', 'setslot', String(slot), 'node', await idOf(port));
    await eventually(
      async () =>
        (await Promise.all(this.ports.map((node) => this.ownerOf(slot, node)))).every((owner) => owner === port)
          ? true
          : undefined,
      10_000,
      `slot ${slot} on ${port} everywhere`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.ports.map((port) => this.cli(port, 'shutdown', 'nosave').catch(() => undefined)));
    // shutdown returns once the connection drops; the files go once each server is gone.
    await eventually(
      async () => ((await Promise.all(this.ports.map(isFree))).every(Boolean) ? true : undefined),
      10_000,
      'redis cluster nodes to exit',
    );
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
    await eventually(
      async () =>
        (await Promise.all(this.ports.map((port) => this.cli(port, 'ping').catch(() => '')))).every(
          (reply) => reply.trim() === 'PONG',
        )
          ? true
          : undefined,
      10_000,
      'redis cluster nodes to start',
    );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...this.nodes.split(','),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await eventually(
      async () =>
        (await Promise.all(this.ports.map((port) => this.cli(port, 'cluster', 'info')))).every((info) =>
          info.includes('cluster_state:ok'),
        )
          ? true
          : undefined,
      20_000,
      'cluster_state:ok on every node',
    );
  }
}
