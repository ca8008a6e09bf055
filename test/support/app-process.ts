import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually, signToken } from './test-context';

const ROOT = join(__dirname, '..', '..');

/** One of the built apps (`npm run build`) running as its own process, as a user would start it. */
export class AppProcess {
  readonly logLines: string[] = [];
  private exitCode: number | null = null;
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => this.logLines.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve((this.exitCode = code))));
  }

  static async start(app: 'gateway' | 'worker', env: Record<string, string>, ready: RegExp): Promise<AppProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new AppProcess(`${app}:${env.PORT ?? ''}`, child);
    try {
      await eventually(
        () => {
          if (started.exitCode !== null)
            throw new Error(`${app} exited with ${started.exitCode}:\n${started.logLines.join('\n')}`);
          return started.logLines.find((line) => ready.test(line));
        },
        // Generous: on a loaded 2-core machine a cold start of the built app has taken over 20 s.
        45_000,
        `${app} to start`,
      );
    } catch (error) {
      await started.stop('SIGKILL');
      throw error;
    }
    return started;
  }

  /** Whether the process is still running (it has not exited, for whatever reason). */
  get running(): boolean {
    return this.exitCode === null && this.child.signalCode === null;
  }

  /** Sends SIGTERM and resolves to the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** A gateway's base URL (http://127.0.0.1:<port>), the `url` of its "Gateway listening on" log line. */
  httpUrl(): string {
    const line = this.logs().find((log) => typeof log.msg === 'string' && log.msg.startsWith('Gateway listening on '));
    if (typeof line?.url !== 'string') throw new Error(`${this.name} has not logged where it listens`);
    return line.url;
  }

  /** The notification socket URL of a gateway for `userId`, with a fresh token and any extra query. */
  socketUrl(userId: string | number, query = ''): string {
    return `${this.httpUrl().replace('http', 'ws')}/ws/notifications/?token=${signToken({ user_id: userId })}${query}`;
  }

  logs(): Array<Record<string, unknown>> {
    return this.logLines.flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
  }
}
