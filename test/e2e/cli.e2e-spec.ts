import jwt from 'jsonwebtoken';
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AppProcess } from '@test/support/app-process';
import {
  TestPublisher,
  TestSocket,
  eventually,
  signToken,
  taskRow,
  uniqueName,
  upgradeStatus,
} from '@test/support/test-context';

const CLI = join(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (`npm run cli -- ...` runs this same file). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('cli', () => {
  it('explains itself with --help (exit 0) and each command with <command> --help', async () => {
    const help = await cli(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['token', 'notify', 'tasks']) expect(help.stdout).toContain(command);
    const tokenHelp = await cli(['token', '--help']);
    expect(tokenHelp.status).toBe(0);
    expect(tokenHelp.stdout).toMatch(/--admin[\s\S]*--ttl[\s\S]*--private-key/);
  });

  it.each([
    ['no command', []],
    ['an unknown command', ['frobnicate']],
    ['a missing argument', ['token']],
    ['an unknown option', ['tasks', '--colour', 'blue']],
    ['a bad --ttl', ['token', '42', '--ttl', 'soon']],
    ['a bad user id', ['notify', 'has space', 'hi']],
    ['a bad --status', ['tasks', '--status', 'DONE']],
    ['a bad --limit', ['tasks', '--limit', '0']],
  ])('exits 2 on %s, with the error on stderr and nothing on stdout', async (_, args) => {
    const run = await cli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).not.toBe('');
    expect(run.stdout).toBe('');
  });

  describe('token', () => {
    it('mints an access token for a user, valid for --ttl, signed with JWT_SECRET', async () => {
      const run = await cli(['token', '42', '--ttl', '5m']);
      expect(run.status).toBe(0);
      const claims = jwt.verify(run.stdout.trim(), process.env.JWT_SECRET!, {
        algorithms: ['HS256'],
      }) as jwt.JwtPayload;
      expect(claims).toMatchObject({ user_id: 42, token_type: 'access' });
      expect(claims.is_staff).toBeUndefined();
      expect(claims.exp! - claims.iat!).toBe(300);
    });

    it('marks an admin token is_staff', async () => {
      const run = await cli(['token', 'alice', '--admin']);
      const claims = jwt.verify(run.stdout.trim(), process.env.JWT_SECRET!) as jwt.JwtPayload;
      expect(claims).toMatchObject({ user_id: 'alice', is_staff: true });
      expect(claims.exp! - claims.iat!).toBe(3600);
    });

    describe('with RS256', () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const env = {
        JWT_ALGORITHM: 'RS256',
        JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      };
      let dir: string;
      beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'cli-key-'))));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('refuses without --private-key, saying why', async () => {
        const run = await cli(['token', '42'], env);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain('--private-key');
      });

      it('signs with --private-key, verifiable with the configured public key', async () => {
        const keyFile = join(dir, 'issuer.pem');
        writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
        const run = await cli(['token', '42', '--private-key', keyFile], env);
        expect(run.status).toBe(0);
        expect(jwt.verify(run.stdout.trim(), env.JWT_PUBLIC_KEY, { algorithms: ['RS256'] })).toMatchObject({
          user_id: 42,
        });
      });
    });
  });

  describe('notify and tasks, with a worker', () => {
    const queue = uniqueName('send_notification');
    let worker: AppProcess;
    let publisher: TestPublisher;

    beforeAll(async () => {
      worker = await AppProcess.start('worker', { AMQP_QUEUE: queue, WORKER_NAME: 'celery@cli-e2e' }, /consuming/);
      publisher = await TestPublisher.connect();
    });
    afterAll(async () => {
      await worker?.stop();
      await publisher?.deleteQueue(queue);
      await publisher?.close();
    });

    it('publishes JSON or text to the queue, prints the task id, and the worker runs it', async () => {
      const given = `cli-${randomUUID()}`;
      const json = await cli(['notify', '42', '{"text":"from the cli"}', '--task-id', given], { AMQP_QUEUE: queue });
      expect(json).toEqual({ status: 0, stdout: `${given}\n`, stderr: '' });
      const text = await cli(['notify', 'bob', 'plain words'], { AMQP_QUEUE: queue });
      expect(text.status).toBe(0);
      const generated = text.stdout.trim();
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);

      const rows = await Promise.all([given, generated].map((id) => eventually(() => taskRow(id), 15_000)));
      expect(rows.map((row) => row.status)).toEqual(['SUCCESS', 'SUCCESS']);
      expect(JSON.parse(rows[0].task_kwargs as string)).toEqual({ user_id: 42, message: { text: 'from the cli' } });
      expect(JSON.parse(rows[1].task_kwargs as string)).toEqual({ user_id: 'bob', message: 'plain words' });
    });

    it('lists the most recent results, filtered by --status and cut at --limit', async () => {
      const [earlier, taskId] = [`cli-${randomUUID()}`, `cli-${randomUUID()}`];
      for (const id of [earlier, taskId]) {
        await cli(['notify', '7', 'listed', '--task-id', id], { AMQP_QUEUE: queue });
        await eventually(() => taskRow(id), 15_000);
      }
      const run = await cli(['tasks', '--status', 'SUCCESS', '--limit', '2']);
      expect(run.status).toBe(0);
      const [header, ...lines] = run.stdout.trim().split('\n');
      expect(header.split('\t')).toEqual(['date_done', 'status', 'task_id', 'task_name', 'worker']);
      expect(lines).toHaveLength(2);
      expect(lines[0].split('\t').slice(1)).toEqual(['SUCCESS', taskId, 'send_notification', 'celery@cli-e2e']);
      expect(lines[1].split('\t')[2]).toBe(earlier);
      const failures = (await cli(['tasks', '--status', 'FAILURE', '--limit', '500'])).stdout
        .trim()
        .split('\n')
        .slice(1);
      expect(failures.filter((line) => line.split('\t')[1] !== 'FAILURE')).toEqual([]);
    });
  });

  describe('disconnect and revoke, through a gateway', () => {
    let gateway: AppProcess;
    const user = `cli-${randomUUID().slice(0, 8)}`;
    const socketUrl = (token: string) => `${gateway.httpUrl().replace('http', 'ws')}/ws/notifications/?token=${token}`;

    beforeAll(async () => {
      gateway = await AppProcess.start(
        'gateway',
        { PORT: '0', REDIS_CHANNEL_PREFIX: `${uniqueName('cli')}:` },
        /Gateway listening/,
      );
    });
    afterAll(() => gateway?.stop());

    it("disconnect closes the user's sockets with 4003 and the reason", async () => {
      const socket = await TestSocket.open(socketUrl(signToken({ user_id: user })));
      const run = await cli(['disconnect', user, '--reason', 'see you', '--url', gateway.httpUrl()]);
      expect(run).toEqual({ status: 0, stdout: `disconnect sent to 1 gateway(s) for user ${user}\n`, stderr: '' });
      await eventually(() => socket.closeCode ?? undefined, 2000);
      expect([socket.closeCode, socket.closeReason]).toEqual([4003, 'see you']);
    });

    it("revoke refuses the user's tokens issued until now", async () => {
      const old = signToken({ user_id: user });
      const run = await cli(['revoke', user, '--url', gateway.httpUrl()]);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(`^user ${user} logged out everywhere: tokens issued before \\S+Z are refused`),
      );
      expect(await upgradeStatus(socketUrl(old))).toBe(401);
    });

    it.each([
      ['a user id that is not one', ['disconnect', 'a b']],
      ['a reason over 123 bytes', ['disconnect', '1', '--reason', 'x'.repeat(124)]],
      ['no user id', ['revoke']],
    ])('exits 2 for %s', async (_, args) => {
      const run = await cli(args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
    });

    it('exits 1 when the gateway cannot be reached, saying where it looked', async () => {
      const run = await cli(['revoke', '1', '--url', 'http://127.0.0.1:1']);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^error: the gateway at http:\/\/127\.0\.0\.1:1 could not be reached/);
    });
  });

  it.each([
    ['notify, when the broker is unreachable', ['notify', '1', 'x'], { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' }],
    ['tasks, when Postgres is unreachable', ['tasks'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }],
  ])(
    'exits 1 from %s, with the error on stderr',
    async (_, args, env) => {
      const run = await cli(args, env);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^error: /);
      expect(run.stdout).toBe('');
    },
    30_000,
  );

  it('preflight: exit 0 when every service answers, else exit 1 naming the one that does not and how to start it', async () => {
    const ok = await cli(['preflight']);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const down = await cli(['preflight'], { AMQP_URL: `amqp://guest:cli-s3cret@127.0.0.1:${closed}` });
    expect(down.status).toBe(1);
    expect(down.stderr).toContain(`RabbitMQ is not reachable at 127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(down.stderr).toContain('sudo systemctl start rabbitmq-server');
    expect(down.stderr).toContain('docker compose -f docker-compose.yml -f docker-compose.host.yml up -d');
    expect(down.stderr).not.toContain('cli-s3cret');
    expect(down.stderr).not.toMatch(/Postgres is not|Redis is not|^error:/m);
  });
});
