import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseEnv } from 'node:util';
import { z } from 'zod';

const DEVELOPMENT_JWT_SECRET = 'dev-only-insecure-secret-change-me';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.join(' or ')}` },
  );

const boolean = () => z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const commaSeparated = () =>
  z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

/** `host:port` (an IPv6 host in brackets) into what ioredis takes as a cluster node, or null. */
function parseHostPort(entry: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(entry);
  const port = Number(match?.[3]);
  return match && port >= 1 && port <= 65535 ? { host: match[1] ?? match[2], port } : null;
}

/** Celery's result_backend names this worker can write to. */
export const RESULT_BACKEND_NAMES = ['django-db', 'django-cache'] as const;
export type ResultBackendName = (typeof RESULT_BACKEND_NAMES)[number];

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** The HS256 key size RFC 7518 (3.2) requires: no shorter than the hash output. */
const MIN_HMAC_SECRET_BYTES = 32;
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] as const;

/**
 * Every environment variable either app reads. Parsed once at start-up; an invalid value stops the
 * process with a message naming the variable.
 */
const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: integer(0, 65535).default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),

    DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/notifications'),
    DATABASE_POOL_SIZE: integer(1, 200).default(10),
    DATABASE_REPLICA_URL: url(['postgres:', 'postgresql:']).optional(),
    STORE_BATCH_WAIT_MS: integer(0, 1000).default(2),

    REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    REDIS_CHANNEL_PREFIX: z.string().max(64).default('notifications:'),
    // Seed nodes of a Redis Cluster; set, the fan-out uses sharded pub/sub there instead of REDIS_URL.
    REDIS_CLUSTER_NODES: commaSeparated()
      .refine((entries) => entries.every((entry) => parseHostPort(entry) !== null), {
        message: 'each entry must be host:port (port 1-65535)',
      })
      .transform((entries) => entries.map((entry) => parseHostPort(entry)!))
      .default([]),

    AMQP_URL: url(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
    AMQP_QUEUE: z.string().min(1).max(255).default('send_notification'),
    // classic: durable, no arguments (as Celery declares it); quorum: replicated, for a cluster.
    AMQP_QUEUE_TYPE: z.enum(['classic', 'quorum']).default('classic'),
    AMQP_PREFETCH: integer(1, 65535).default(1000),
    // Celery's node name: `celery inspect` and Flower list each worker by it, so it must be unique.
    WORKER_NAME: z.string().min(1).max(100).default(`celery@${hostname()}-${process.pid}`),
    WORKER_HTTP_PORT: integer(0, 65535).default(3001),
    CELERY_TASK_NAMES: commaSeparated().default(['send_notification_task', '*.send_notification_task']),
    CELERY_TRACK_STARTED: boolean().default(false),
    // Celery's result_extended, for results in Django's cache (the table's rows always have them).
    CELERY_RESULT_EXTENDED: boolean().default(false),
    // Celery's remote control (celery inspect/control, revoke) on <CELERY_CONTROL_EXCHANGE>.pidbox.
    CELERY_REMOTE_CONTROL: boolean().default(true),
    CELERY_CONTROL_EXCHANGE: z.string().min(1).max(200).default('celery'),
    CELERY_CONTROL_ALLOW_SHUTDOWN: boolean().default(false),
    // Like Celery's worker_revoke_expires (CELERY_WORKER_REVOKE_EXPIRES): how long a revoke holds.
    CELERY_REVOKE_EXPIRES_SECONDS: integer(1, 365 * 86400).default(10_800),
    // Celery's events (Flower, celery events): worker heartbeats always, task events when this is on (-E).
    CELERY_WORKER_SEND_TASK_EVENTS: boolean().default(false),
    CELERY_EVENT_EXCHANGE: z.string().min(1).max(200).default('celeryev'),
    // Like Celery's result_expires: 0 keeps results forever, as django-celery-results does by itself.
    RESULT_EXPIRES_SECONDS: integer(0, 100 * 365 * 86400).default(0),
    RESULT_CLEANUP_BATCH_SIZE: integer(1, 100_000).default(1000),
    RESULT_CLEANUP_INTERVAL_SECONDS: integer(1, 7 * 86400).default(3600),
    TASK_MAX_ATTEMPTS: integer(1, 100).default(5),
    // Like Celery's result_backend: where the Django app reads results. django-db is this service's own
    // record (admin API, dashboard), so it stays on; django-cache adds Django's cache.
    RESULT_BACKENDS: commaSeparated()
      .refine((names) => names.every((name) => (RESULT_BACKEND_NAMES as readonly string[]).includes(name)), {
        message: `each entry must be one of ${RESULT_BACKEND_NAMES.join(', ')}`,
      })
      .refine((names) => names.includes('django-db'), {
        message:
          'must include django-db (the results table is also the admin API’s record); e.g. django-db,django-cache',
      })
      .transform((names) => [...new Set(names)] as ResultBackendName[])
      .default(['django-db']),
    // Which Django cache backend the Django app's CELERY_CACHE_BACKEND names: DatabaseCache or RedisCache.
    RESULT_CACHE: z.enum(['database', 'redis']).default('database'),
    RESULT_CACHE_TABLE: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a table name (letters, digits, _; at most 63)')
      .default('my_cache_table'),
    RESULT_CACHE_DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
    RESULT_CACHE_REDIS_URL: url(['redis:', 'rediss:']).optional(),
    RESULT_CACHE_KEY_PREFIX: z.string().max(200).default(''),
    RESULT_CACHE_VERSION: integer(-(2 ** 31), 2 ** 31 - 1).default(1),
    // Celery's result_expires (a day by default); 0 never expires, as Django's timeout None.
    RESULT_CACHE_EXPIRES_SECONDS: integer(0, 100 * 365 * 86400).default(86400),
    // How long a task waits for its cache write before it is settled anyway (the write goes on).
    RESULT_CACHE_TIMEOUT_MS: integer(1, 60_000).default(2000),
    // A Celery eta due within this many seconds waits in the worker's memory, unacked; a later one is
    // stored in Postgres and published again when due. Keep it well under RabbitMQ's consumer_timeout.
    DEFERRED_TASK_HOLD_SECONDS: integer(0, 600).default(30),
    DEFERRED_TASK_POLL_MS: integer(50, 60_000).default(500),
    NOTIFICATION_RETENTION_DAYS: integer(0, 36500).default(90),
    NOTIFICATION_RETENTION_INTERVAL_SECONDS: integer(1, 86400).default(3600),
    // The time one inbox partition is sized to hold, from the recent rate of notifications.
    NOTIFICATION_PARTITION_HOURS: integer(1, 720).default(24),
    RESUME_WINDOW: integer(1, 100_000).default(1000),
    // How long broadcasts are kept and resent to a client that resumes (a day by default).
    BROADCAST_RETENTION_SECONDS: integer(60, 365 * 86400).default(86400),

    JWT_ALGORITHM: z.enum([...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS]).default('HS256'),
    JWT_SECRET: z.string().min(1).default(DEVELOPMENT_JWT_SECRET),
    JWT_PUBLIC_KEY: z.string().optional(),
    JWT_ISSUER: z.string().optional(),
    JWT_AUDIENCE: z.string().optional(),
    JWT_ADMIN_ROLE: z.string().min(1).default('admin'),
    JWT_CLOCK_TOLERANCE_SECONDS: integer(0, 300).default(30),
    // Static bearer tokens for services that publish over HTTP; long, so that they cannot be guessed.
    PUBLISH_API_TOKENS: commaSeparated()
      .refine((tokens) => tokens.every((token) => token.length >= 32), {
        message: 'each token must be at least 32 characters',
      })
      .default([]),
    // Off unless switched on: the demo page's mint signs a token for any user id, asked by anyone.
    DEMO_TOKEN_MINT: boolean().default(false),

    WS_MAX_PAYLOAD_BYTES: integer(128, 16 * 1024 * 1024).default(64 * 1024),
    WS_MAX_BUFFERED_BYTES: integer(1024, 1024 * 1024 * 1024).default(1024 * 1024),
    WS_TOKEN_EXPIRY_GRACE_SECONDS: integer(0, 86400).default(0),
    WS_ALLOWED_ORIGINS: commaSeparated().default([]),
    // Proxies whose X-Forwarded-For is believed (Express' `trust proxy` list: addresses, CIDRs,
    // loopback/linklocal/uniquelocal); the per-address limits then count the client behind them.
    TRUST_PROXY: commaSeparated()
      .refine((entries) => entries.every(isTrustedProxyEntry), {
        message: 'each entry must be an IP address, a CIDR, or loopback, linklocal, uniquelocal',
      })
      .default([]),
    WS_MAX_SOCKETS_PER_USER: integer(1, 100_000).default(20),
    WS_MAX_SOCKETS_PER_IP: integer(1, 1_000_000).default(1000),
    WS_MAX_CONNECTIONS_PER_IP_PER_SECOND: integer(1, 100_000).default(50),
    WS_MAX_FRAMES_PER_SECOND: integer(1, 100_000).default(20),
    // A Server-Sent Events stream gets a comment line this often, so proxies do not close it as idle.
    SSE_KEEPALIVE_SECONDS: integer(1, 3600).default(15),
    // The `retry:` a stream starts with: how long a browser's EventSource waits before reconnecting.
    SSE_RETRY_MS: integer(100, 600_000).default(3000),
    // A gateway that stops heartbeating (killed) stops counting in presence after this long.
    PRESENCE_TTL_SECONDS: integer(3, 3600).default(30),
    // How often a gateway reads "log out everywhere" cut-offs from Postgres (the control channel
    // tells live gateways at once; this covers one that was away from Redis).
    TOKEN_CUTOFF_SYNC_SECONDS: integer(1, 3600).default(10),
    // Cut-offs older than this are deleted: longer than any access token lives.
    TOKEN_CUTOFF_RETENTION_DAYS: integer(1, 3650).default(30),
    CORS_ORIGINS: commaSeparated().default([]),
    MAX_MESSAGE_BYTES: integer(2, 16 * 1024 * 1024).default(64 * 1024),
    // The most users one task may name in `user_ids`: all are stored in one statement.
    MAX_RECIPIENTS: integer(1, 10_000).default(1000),
  })
  .superRefine((env, ctx) => {
    const usesPublicKey = (PUBLIC_KEY_ALGORITHMS as readonly string[]).includes(env.JWT_ALGORITHM);
    if (usesPublicKey && !env.JWT_PUBLIC_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_PUBLIC_KEY'],
        message: `is required when JWT_ALGORITHM is ${env.JWT_ALGORITHM}`,
      });
    }
    if (!usesPublicKey && env.NODE_ENV === 'production' && env.JWT_SECRET === DEVELOPMENT_JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be set in production' });
    }
    const secretBytes = Buffer.byteLength(env.JWT_SECRET);
    if (!usesPublicKey && env.NODE_ENV !== 'development' && secretBytes < MIN_HMAC_SECRET_BYTES) {
      // A short HMAC secret can be brute-forced offline from any one token it signed.
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: `is ${secretBytes} bytes; ${env.JWT_ALGORITHM} needs at least ${MIN_HMAC_SECRET_BYTES} bytes unless NODE_ENV=development (e.g. openssl rand -hex 32)`,
      });
    }
    if (!usesPublicKey && env.JWT_SECRET.includes('-----BEGIN')) {
      // A public key used as an HMAC secret lets anyone who has the public key sign tokens.
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET'],
        message: `is a PEM key; ${env.JWT_ALGORITHM} needs a shared secret (use RS256/ES256 with JWT_PUBLIC_KEY)`,
      });
    }
    if (env.DEMO_TOKEN_MINT && env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['DEMO_TOKEN_MINT'],
        message: 'must not be true with NODE_ENV=production: it lets anyone who reaches the gateway act as any user',
      });
    }
    if (env.RESULT_BACKENDS.includes('django-cache') && env.RESULT_CACHE === 'redis' && !env.RESULT_CACHE_REDIS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['RESULT_CACHE_REDIS_URL'],
        message: "is required when RESULT_CACHE is redis: the LOCATION of the Django app's RedisCache",
      });
    }
    const keyProblem =
      usesPublicKey && env.JWT_PUBLIC_KEY ? publicKeyProblem(env.JWT_ALGORITHM, env.JWT_PUBLIC_KEY) : null;
    if (keyProblem) ctx.addIssue({ code: 'custom', path: ['JWT_PUBLIC_KEY'], message: keyProblem });
  });

const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustedProxyEntry(entry: string): boolean {
  if (PROXY_PRESETS.has(entry)) return true;
  const [address, bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
}

const CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Why `pem` cannot verify `algorithm` (wrong kind of key, wrong curve, not a public key), or null. */
function publicKeyProblem(algorithm: string, pem: string): string | null {
  let key;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    return `is not a PEM public key (${(error as Error).message})`;
  }
  const kind = algorithm.startsWith('RS') ? 'rsa' : 'ec';
  if (key.asymmetricKeyType !== kind) return `is a ${key.asymmetricKeyType} key; ${algorithm} needs ${kind}`;
  const curve = CURVES[algorithm];
  if (curve && key.asymmetricKeyDetails?.namedCurve !== curve)
    return `is on curve ${key.asymmetricKeyDetails?.namedCurve}; ${algorithm} needs ${curve}`;
  return null;
}

export type AppConfig = z.infer<typeof environmentSchema>;

/** The name of every variable the config reads (the deployment files are checked against it). */
export const APP_CONFIG_KEYS = Object.keys(environmentSchema.shape) as Array<keyof AppConfig>;

export class InvalidConfigError extends Error {}

/** Validates the environment; throws an error that names every bad variable. */
export function parseAppConfig(env: NodeJS.ProcessEnv): AppConfig {
  const result = environmentSchema.safeParse(withoutEmptyValues(env));
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new InvalidConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/** `FOO=` in a .env file means "not set", as in docker-compose, not "the empty string". */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== '')) as Record<
    string,
    string
  >;
}

/**
 * The apps' entry point to config: variables already in the environment win over a `.env` file in
 * the working directory, which is read when present (the same file docker compose reads).
 */
export function loadAppConfig(envFile = '.env'): AppConfig {
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  return parseAppConfig({ ...fromFile, ...process.env });
}
