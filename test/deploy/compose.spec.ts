import 'reflect-metadata';
import { PATH_METADATA } from '@nestjs/common/constants';
import { APP_CONFIG_KEYS, parseAppConfig } from '@app/config';
import { HealthController as GatewayHealthController } from '../../apps/gateway/src/health/health.controller';
import { HealthController as WorkerHealthController } from '../../apps/worker/src/health/health.controller';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Keeps the deployment files in step with the code: docker-compose.yml, .env.example, the
 * Dockerfile and the config schema (libs/config/src/app-config.ts). No Docker daemon is needed;
 * the last block does need the docker-compose binary (Debian package docker-compose, v1.29).
 */

// js-yaml ships no types of its own; this is the one function used (`load` is safe in v4).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped, so required with the type it is used at
const { load: parseYaml } = require('js-yaml') as { load(source: string): unknown };

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The readiness endpoint both apps serve (their health/ folders) and the healthchecks call. */
const READY_PATH = '/health/ready';

/** Set by the image (NODE_ENV) or per service (PORT), so deliberately not in the shared environment. */
const NOT_SHARED = ['NODE_ENV', 'PORT'];

interface Service {
  build?: unknown;
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  ports?: Array<string | { target: number; published?: string | number }>;
  healthcheck?: { test: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
}

const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
/** Built from this repo (the app image) vs. pulled (Postgres, Redis, RabbitMQ). */
const appNames = Object.keys(services).filter((name) => services[name].build !== undefined);
const infraNames = Object.keys(services).filter((name) => services[name].build === undefined);
const longRunningAppNames = appNames.filter((name) => name !== 'migrate');

/** NAME=value lines of a dotenv file (comments and blank lines skipped), in order. */
function dotenvEntries(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (!match) throw new Error(`.env.example: not a NAME=value line: ${line}`);
      return [match[1], match[2].replace(/^"(.*)"$/, '$1')];
    });
}

function environmentOf(name: string): Record<string, string> {
  const environment = services[name].environment ?? {};
  const entries = Array.isArray(environment)
    ? environment.map((item) => [item.split('=')[0], item.slice(item.indexOf('=') + 1)])
    : Object.entries(environment).map(([key, value]) => [key, String(value ?? '')]);
  return Object.fromEntries(entries);
}

function dependencyConditions(name: string): Record<string, string | undefined> {
  const dependsOn = services[name].depends_on ?? {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((dependency) => [dependency, undefined]));
  return Object.fromEntries(Object.entries(dependsOn).map(([dependency, options]) => [dependency, options?.condition]));
}

function commandOf(service: Service): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

const configKeys: string[] = [...APP_CONFIG_KEYS];
const example = dotenvEntries(read('.env.example'));
const exampleKeys = example.map(([key]) => key);

describe('config schema keys', () => {
  it('include every variable the parsed config has', () => {
    expect(configKeys.length).toBeGreaterThan(10);
    expect(Object.keys(parseAppConfig({})).filter((key) => !configKeys.includes(key))).toEqual([]);
  });
});

describe('.env.example', () => {
  it('lists every variable the config reads', () => {
    expect(configKeys.filter((key) => !exampleKeys.includes(key))).toEqual([]);
  });

  it('lists no variable the config does not read, and none twice', () => {
    expect(exampleKeys.filter((key) => !configKeys.includes(key))).toEqual([]);
    expect(exampleKeys.filter((key, index) => exampleKeys.indexOf(key) !== index)).toEqual([]);
  });

  it('explains each variable in a comment line above it', () => {
    const lines = read('.env.example').split('\n');
    const undocumented = exampleKeys.filter(
      (key) => !lines[lines.findIndex((line) => line.startsWith(`${key}=`)) - 1]?.startsWith('#'),
    );
    expect(undocumented).toEqual([]);
  });

  it('is a valid development config as it stands', () => {
    expect(() => parseAppConfig(Object.fromEntries(example))).not.toThrow();
  });

  it('leaves the demo token mint off', () => {
    expect(parseAppConfig(Object.fromEntries(example)).DEMO_TOKEN_MINT).toBe(false);
  });

  it('holds a JWT_SECRET that production refuses, so it cannot be deployed unchanged', () => {
    expect(() => parseAppConfig({ ...Object.fromEntries(example), NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
  });
});

describe('package.json scripts', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

  it('start the demo token mint only from start:demo, never from npm start', () => {
    expect(scripts.start).not.toContain('DEMO_TOKEN_MINT');
    expect(scripts['start:demo']).toBe('DEMO_TOKEN_MINT=true npm start');
  });

  it('run the preflight after the build and before anything connects', () => {
    const steps = scripts.start.split('&&').map((step) => step.trim());
    expect(steps.indexOf('npm run preflight --silent')).toBe(steps.indexOf('npm run build') + 1);
    expect(steps.indexOf('npm run preflight --silent')).toBeLessThan(steps.indexOf('npm run db:migrate'));
  });
});

describe('docker-compose.host.yml (the preflight tells a user to start the services with it)', () => {
  const host = parseYaml(read('docker-compose.host.yml')) as { services: Record<string, Service> };

  it('publishes Postgres and Redis on loopback only, on the ports the config defaults to', () => {
    expect(host.services.postgres.ports).toEqual(['127.0.0.1:5432:5432']);
    expect(host.services.redis.ports).toEqual(['127.0.0.1:6379:6379']);
    expect(compose.services.rabbitmq.ports).toContain('127.0.0.1:5672:5672');
  });

  it('overrides only services docker-compose.yml has', () => {
    expect(Object.keys(host.services).filter((name) => !(name in compose.services))).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  it('has the expected services', () => {
    expect(appNames.sort()).toEqual(['gateway', 'migrate', 'worker']);
    expect(infraNames.sort()).toEqual(['postgres', 'rabbitmq', 'redis']);
  });

  it('gives every infrastructure service a healthcheck', () => {
    expect(infraNames.filter((name) => !services[name].healthcheck)).toEqual([]);
  });

  it.each(appNames)('passes %s every config variable except NODE_ENV and PORT, and nothing else', (name) => {
    const keys = Object.keys(environmentOf(name));
    expect(configKeys.filter((key) => !NOT_SHARED.includes(key) && !keys.includes(key))).toEqual([]);
    expect(keys.filter((key) => !configKeys.includes(key))).toEqual([]);
  });

  it.each(appNames)('points %s at the compose services, not at 127.0.0.1', (name) => {
    const environment = environmentOf(name);
    expect(new URL(environment.DATABASE_URL).hostname).toBe('postgres');
    expect(new URL(environment.REDIS_URL).hostname).toBe('redis');
    expect(new URL(environment.AMQP_URL).hostname).toBe('rabbitmq');
  });

  it('publishes the port the gateway listens on in its container, and health-checks that port', () => {
    const gateway = services.gateway;
    const port = environmentOf('gateway').PORT;
    expect(port).toMatch(/^\d+$/);

    const containerPorts = (gateway.ports ?? []).map((entry) =>
      // "[host-ip:]host-port:container-port[/protocol]"; the host part may hold ${PORT:-3000}.
      typeof entry === 'string' ? entry.split('/')[0].split(':').pop() : String(entry.target),
    );
    expect(containerPorts).toEqual([port]);

    const check = [gateway.healthcheck?.test ?? []].flat().join(' ');
    expect([...check.matchAll(/\/\/(?:127\.0\.0\.1|localhost):(\d+)\//g)].map((match) => match[1])).toEqual([port]);
  });

  it('health-checks the gateway and the worker on their readiness endpoints, expecting 200', () => {
    const checkOf = (name: string) => [services[name].healthcheck?.test ?? []].flat().join(' ');
    expect(checkOf('gateway')).toContain(`//127.0.0.1:${environmentOf('gateway').PORT}${READY_PATH}'`);
    // The worker's probe port comes from the environment the worker reads, with the config's default.
    expect(checkOf('worker')).toContain(
      `(process.env.WORKER_HTTP_PORT || ${parseAppConfig({}).WORKER_HTTP_PORT}) + '${READY_PATH}'`,
    );
    for (const name of ['gateway', 'worker']) expect(checkOf(name)).toContain('res.statusCode === 200 ? 0 : 1');
  });

  it('health-checks paths that the apps serve', () => {
    const routeOf = (controller: object, method: string) =>
      `/${Reflect.getMetadata(PATH_METADATA, controller)}/${Reflect.getMetadata(PATH_METADATA, (controller as { prototype: Record<string, object> }).prototype[method])}`;
    expect(routeOf(GatewayHealthController, 'ready')).toBe(READY_PATH);
    expect(routeOf(WorkerHealthController, 'ready')).toBe(READY_PATH);
  });

  it.each(longRunningAppNames)('starts %s after migrate has succeeded and the infrastructure is healthy', (name) => {
    const expected = Object.fromEntries([
      ['migrate', 'service_completed_successfully'],
      ...infraNames.map((infra) => [infra, 'service_healthy']),
    ]);
    expect(dependencyConditions(name)).toEqual(expected);
  });

  it('runs migrate once Postgres is healthy', () => {
    expect(dependencyConditions('migrate')).toEqual({ postgres: 'service_healthy' });
    expect(commandOf(services.migrate)).toBe('node dist/apps/worker/src/migrate.js');
  });

  it('builds and runs the image on a maintained Node.js LTS line (22 or 24), not on 20 (end of life)', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM\s+node:(\S+)/gm)].map((match) => match[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^(22|24)[.-]/);
  });

  it('runs entry points that exist in the source tree (image default: the gateway)', () => {
    const cmd = /^CMD\s+(.*)$/m.exec(read('Dockerfile'))?.[1];
    const commands = [
      ...appNames.map((name) => commandOf(services[name])),
      (JSON.parse(cmd ?? '[]') as string[]).join(' '),
    ];
    const scripts = commands.flatMap((command) =>
      [...command.matchAll(/\bdist\/(\S+)\.js\b/g)].map((match) => `${match[1]}.ts`),
    );
    expect(scripts).toContain('apps/gateway/src/main.ts');
    expect(scripts.filter((script) => !existsSync(join(ROOT, script)))).toEqual([]);
  });
});

describe('docker-compose config (docker-compose 1.29)', () => {
  const hasDockerCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).error === undefined;
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'compose-spec-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /**
   * `docker-compose config -q` with an explicit env file, in an environment cleared of the config's
   * variables, so that neither a developer's .env nor their shell changes the outcome.
   */
  function composeConfig(envFile: string, extraEnv: Record<string, string> = {}) {
    if (!hasDockerCompose) {
      throw new Error(
        'docker-compose is not installed; install it with `apt-get install -y docker-compose` (Debian, v1.29)',
      );
    }
    const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
    for (const key of configKeys) if (!(key in extraEnv)) delete env[key];
    const result = spawnSync(
      'docker-compose',
      ['--env-file', envFile, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'],
      {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('accepts the file with .env copied from .env.example', () => {
    const result = composeConfig(join(ROOT, '.env.example'));
    expect(result).toEqual({ status: 0, output: '' });
  }, 60_000);

  it('accepts the file with no .env settings but JWT_SECRET', () => {
    const emptyEnvFile = join(scratch, 'empty.env');
    writeFileSync(emptyEnvFile, '');
    expect(composeConfig(emptyEnvFile, { JWT_SECRET: 'from-the-shell-0123456789abcdef01234' })).toEqual({
      status: 0,
      output: '',
    });
  }, 60_000);

  it('refuses to run without JWT_SECRET', () => {
    const emptyEnvFile = join(scratch, 'empty.env');
    writeFileSync(emptyEnvFile, '');
    const result = composeConfig(emptyEnvFile);
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('set JWT_SECRET in .env');
  }, 60_000);
});
