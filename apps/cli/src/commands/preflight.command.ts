import type { AppConfig } from '@app/config';
import { urlWithoutCredentials } from '@app/runtime';
import { connect } from 'node:net';

/** Starts the three services with their ports on this machine's loopback. */
export const COMPOSE_UP =
  'docker compose -f docker-compose.yml -f docker-compose.host.yml up -d postgres redis rabbitmq';

/** One service the apps need at start, where the config says it is, and how to start it here. */
export interface RequiredService {
  name: 'Postgres' | 'Redis' | 'RabbitMQ';
  /** The variable that says where it is, and its value without credentials. */
  setting: string;
  host: string;
  port: number;
  /** The Debian/Ubuntu service that runs it. */
  systemService: string;
}

const DEFAULT_PORTS: Record<string, number> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'redis:': 6379,
  'rediss:': 6379,
  'amqp:': 5672,
  'amqps:': 5671,
};

function located(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port) || DEFAULT_PORTS[parsed.protocol],
  };
}

/** The services `npm start` needs, read from the same configuration the apps read. */
export function requiredServices(config: AppConfig): RequiredService[] {
  const redis: RequiredService[] =
    config.REDIS_CLUSTER_NODES.length > 0
      ? config.REDIS_CLUSTER_NODES.map(({ host, port }) => ({
          name: 'Redis',
          setting: `REDIS_CLUSTER_NODES (${host}:${port})`,
          host,
          port,
          systemService: 'redis-server',
        }))
      : [
          {
            name: 'Redis',
            setting: `REDIS_URL=${urlWithoutCredentials(config.REDIS_URL)}`,
            ...located(config.REDIS_URL),
            systemService: 'redis-server',
          },
        ];
  return [
    {
      name: 'Postgres',
      setting: `DATABASE_URL=${urlWithoutCredentials(config.DATABASE_URL)}`,
      ...located(config.DATABASE_URL),
      systemService: 'postgresql',
    },
    ...redis,
    {
      name: 'RabbitMQ',
      setting: `AMQP_URL=${urlWithoutCredentials(config.AMQP_URL)}`,
      ...located(config.AMQP_URL),
      systemService: 'rabbitmq-server',
    },
  ];
}

/** Resolves to null when something accepts a TCP connection at host:port, else to why not. */
export function unreachableBecause(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/**
 * `npm start` runs this before the migrations: a service that is not running is named, with where
 * the configuration says it is and how to start it, instead of a stack trace or a silent retry.
 * Resolves to the report of what cannot be reached, or null when everything answers.
 */
export async function preflight(config: AppConfig, timeoutMs = 2000): Promise<string | null> {
  const services = requiredServices(config);
  const problems = await Promise.all(services.map((s) => unreachableBecause(s.host, s.port, timeoutMs)));
  const down = services.flatMap((service, i) => (problems[i] === null ? [] : [{ service, problem: problems[i] }]));
  if (down.length === 0) return null;
  const lines = down.flatMap(({ service, problem }) => [
    `  ${service.name} is not reachable at ${service.host}:${service.port} (${problem}); from ${service.setting}`,
    `    start it: sudo systemctl start ${service.systemService}  (without systemd: sudo service ${service.systemService} start)`,
  ]);
  return [
    `${down.length} of the ${services.length} services the apps need cannot be reached:`,
    ...lines,
    'Or all three with Docker, from this repository (see docker-compose.host.yml):',
    `  ${COMPOSE_UP}`,
    '  and DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/notifications',
    'Running elsewhere: set the variables above (environment or .env; see .env.example).',
  ].join('\n');
}
