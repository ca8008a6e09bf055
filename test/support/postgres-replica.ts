import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { sparePorts } from './spare-ports';
import { eventually } from './test-context';

const run = promisify(execFile);

/** The newest PostgreSQL installed here (Debian: /usr/lib/postgresql/<major>/bin). */
function binary(name: string): string {
  const newest = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
  return join('/usr/lib/postgresql', newest, 'bin', name);
}

/**
 * A throwaway PostgreSQL primary and its streaming replica (`pg_basebackup -R`), each its own
 * cluster in a temporary directory on a spare loopback port, run as the `postgres` user, nothing
 * synced to disk: for testing what reads a replica and what must not.
 */
export class PostgresReplicaPair {
  private constructor(
    private readonly dir: string,
    readonly primaryPort: number,
    readonly replicaPort: number,
  ) {}

  static async start(): Promise<PostgresReplicaPair> {
    const dir = mkdtempSync(join(tmpdir(), 'pg-replica-'));
    chownSync(dir, ...(await postgresUser()));
    const [primaryPort, replicaPort] = await sparePorts(2);
    const pair = new PostgresReplicaPair(dir, primaryPort, replicaPort);
    try {
      await pair.create();
    } catch (error) {
      await pair.stop();
      throw error;
    }
    return pair;
  }

  url(port: number, database: string): string {
    return `postgres://postgres@127.0.0.1:${port}/${database}`;
  }

  /** Holds the replica's WAL replay: it answers, but with what it had (lag made on purpose). */
  async pauseReplay(): Promise<void> {
    await this.onReplica('SELECT pg_wal_replay_pause()');
  }

  /** Resumes replay and waits until the replica has replayed everything the primary has written. */
  async resumeReplay(): Promise<void> {
    await this.onReplica('SELECT pg_wal_replay_resume()');
    await this.caughtUp();
  }

  /** Waits until the replica has replayed everything the primary has written so far. */
  async caughtUp(): Promise<void> {
    const [{ lsn }] = await this.query(this.primaryPort, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
    await eventually(
      async () => {
        const [{ behind }] = await this.onReplica(
          'SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()) > 0 AS behind',
          [lsn],
        );
        return behind ? undefined : true;
      },
      10_000,
      'the replica to replay the primary',
    );
  }

  async stopReplica(): Promise<void> {
    await this.ctl('stop', join(this.dir, 'replica'), ['-m', 'immediate']).catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const cluster of ['replica', 'primary']) {
      await this.ctl('stop', join(this.dir, cluster), ['-m', 'immediate']).catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async create(): Promise<void> {
    const primary = join(this.dir, 'primary');
    await this.asPostgres(binary('initdb'), ['-D', primary, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await this.ctl('start', primary, ['-o', this.serverOptions(this.primaryPort)]);
    const replica = join(this.dir, 'replica');
    await this.asPostgres(binary('pg_basebackup'), [
      ...['-h', '127.0.0.1', '-p', String(this.primaryPort), '-U', 'postgres'],
      ...['-D', replica, '-R', '-X', 'stream', '--no-sync'],
    ]);
    await this.ctl('start', replica, ['-o', this.serverOptions(this.replicaPort)]);
  }

  private serverOptions(port: number): string {
    // Loopback only, sockets in the pair's directory, and no fsync: nothing here needs to survive.
    return `-p ${port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off`;
  }

  private ctl(action: 'start' | 'stop', dataDir: string, options: string[]): Promise<unknown> {
    return this.asPostgres(binary('pg_ctl'), [action, '-D', dataDir, '-w', '-l', `${dataDir}.log`, ...options]);
  }

  private asPostgres(command: string, args: string[]): Promise<unknown> {
    return run('runuser', ['-u', 'postgres', '--', command, ...args], { cwd: this.dir });
  }

  private onReplica(sql: string, parameters: unknown[] = []) {
    return this.query(this.replicaPort, sql, parameters);
  }

  private async query(port: number, sql: string, parameters: unknown[] = []) {
    const db = new Client({ connectionString: this.url(port, 'postgres') });
    await db.connect();
    try {
      return (await db.query(sql, parameters)).rows;
    } finally {
      await db.end();
    }
  }
}

async function postgresUser(): Promise<[number, number]> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return [Number(uid.stdout), Number(gid.stdout)];
}
