import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dropDatabase } from '@app/persistence';
import { TestPublisher } from '@test/support/test-context';

const run = promisify(execFile);

/** Debian's python3, which sees Debian's celery, django and simplejwt packages (the first python3 on PATH may not). */
export const PYTHON = process.env.CELERY_PEER_PYTHON ?? '/usr/bin/python3';
const PEER = join(__dirname, 'peer', 'peer.py');

/** An exception in Python, as peer.py describes it. */
export interface PythonError {
  exception: string;
  module: string;
  args: string[];
}

/**
 * The Django + Celery project that moves to this service, as a real Celery client and the real
 * django-celery-results and simplejwt packages, driven one command at a time (see peer/peer.py).
 */
export class CeleryPeer {
  /** `settings`: extra environment for peer_settings.py (CELERY_PEER_CACHE... for django-cache). */
  constructor(
    private readonly env: { DATABASE_URL: string; AMQP_URL: string; AMQP_QUEUE: string; JWT_SECRET: string },
    private readonly settings: Record<string, string> = {},
  ) {}

  async call<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    const { stdout } = await run(PYTHON, [PEER, ...args], {
      env: { ...process.env, ...this.env, ...this.settings },
      timeout: 60_000,
    });
    return JSON.parse(stdout) as T;
  }

  async delay(userId: unknown, message: unknown, ...options: string[]): Promise<string> {
    return (await this.call<{ task_id: string }>('delay', JSON.stringify(userId), JSON.stringify(message), ...options))
      .task_id;
  }

  async sendTask(name: string, args: unknown[], kwargs: object = {}): Promise<string> {
    return (await this.call<{ task_id: string }>('send-task', name, JSON.stringify(args), JSON.stringify(kwargs)))
      .task_id;
  }

  /**
   * `AsyncResult(task_id).get(timeout, propagate=False)` and what the result says of itself; with
   * `propagate`, `.get()` as an app calls it, and the exception it raised (`raised`).
   */
  get(taskId: string, timeoutSeconds = 15, propagate = false) {
    return this.call<{
      status: string;
      result: unknown;
      raised: PythonError | null;
      traceback: string | null;
      args: unknown;
      kwargs: unknown;
      worker: string;
      date_done: string;
    }>('get', taskId, String(timeoutSeconds), ...(propagate ? ['--propagate'] : []));
  }

  /** The rows as Django's ORM (and so its admin) sees them. */
  rows(...taskIds: string[]) {
    return this.call<Array<Record<string, string>>>('rows', ...taskIds);
  }

  async token(userId: unknown, kind: 'access' | 'refresh' = 'access'): Promise<string> {
    return (
      await this.call<{ token: string }>('token', JSON.stringify(userId), ...(kind === 'refresh' ? ['--refresh'] : []))
    ).token;
  }
}

/** Removes what a Celery interop spec made: its task queue and its database (the Django project's). */
export async function removeCeleryTestWorld(config: { AMQP_URL: string; AMQP_QUEUE: string; DATABASE_URL: string }) {
  const publisher = await TestPublisher.connect(config.AMQP_URL);
  await publisher.deleteQueue(config.AMQP_QUEUE);
  await publisher.close();
  await dropDatabase(config.DATABASE_URL);
}
