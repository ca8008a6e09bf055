import type { AppConfig } from './app-config';

/**
 * A config slice: the keys of {@link AppConfig} that one capability reads. The class is both the
 * slice's type and its injection token, so a constructor asks for `config: RedisConfig` and cannot
 * be given a token of another slice than its type says. Import it as a value, not with
 * `import type`: Nest finds the token in the constructor's emitted parameter types.
 *
 * It is never instantiated: `ConfigModule.forRoot` provides a frozen plain object holding exactly
 * `keys` under it. As a type it is structural, so a whole `AppConfig` (a test's `testConfig()`)
 * passes wherever a slice is asked for.
 */
export type ConfigSlice<K extends keyof AppConfig> = (abstract new () => Readonly<Pick<AppConfig, K>>) & {
  readonly keys: readonly K[];
};

/** Any slice, as `ConfigModule` and its test go through them. */
export type AnyConfigSlice = (abstract new () => unknown) & { readonly keys: ReadonlyArray<keyof AppConfig> };

/** The base class of a slice: declares its keys once, for the type and for the provider. */
function configSlice<K extends keyof AppConfig>(keys: readonly K[]): ConfigSlice<K> {
  abstract class Slice {
    static readonly keys = keys;
  }
  // The instance type is declared, not built: no instance ever exists (see ConfigSlice).
  return Slice as unknown as ConfigSlice<K>;
}

/**
 * The process: logging (libs/runtime's `LoggingModule`) and how long a shutdown may take (the
 * apps' `main.ts`).
 */
export abstract class RuntimeConfig extends configSlice(['NODE_ENV', 'LOG_LEVEL', 'SHUTDOWN_TIMEOUT_MS']) {}

/** The gateway's HTTP server, which carries the REST API and the WebSocket upgrade. */
export abstract class HttpConfig extends configSlice(['PORT', 'CORS_ORIGINS']) {}

/**
 * Postgres: the results table, the inbox and the deferred tasks (libs/persistence, the CLI's `tasks`),
 * an optional streaming replica for the reads that tolerate a little lag, and how long the worker
 * gathers tasks into one store statement.
 */
export abstract class DatabaseConfig extends configSlice([
  'DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'DATABASE_REPLICA_URL',
  'STORE_BATCH_WAIT_MS',
]) {}

/** The Redis fan-out between workers and gateways (libs/fanout). */
export abstract class RedisConfig extends configSlice(['REDIS_URL', 'REDIS_CHANNEL_PREFIX', 'REDIS_CLUSTER_NODES']) {}

/**
 * The task queue on RabbitMQ: declared alike by the worker that consumes it (with AMQP_PREFETCH)
 * and by every publisher (libs/publishing, the CLI's `notify`); the dashboard counts its dead letters.
 */
export abstract class AmqpConfig extends configSlice(['AMQP_URL', 'AMQP_QUEUE', 'AMQP_QUEUE_TYPE', 'AMQP_PREFETCH']) {}

/**
 * Access tokens: verified by libs/auth; signed by the demo mint and the CLI's `token` with the
 * same algorithm, issuer and audience.
 */
export abstract class JwtConfig extends configSlice([
  'JWT_ALGORITHM',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_ADMIN_ROLE',
  'JWT_CLOCK_TOLERANCE_SECONDS',
]) {}

/** The static bearer tokens services publish with over `POST /api/publish`. */
export abstract class PublishApiConfig extends configSlice(['PUBLISH_API_TOKENS', 'MAX_RECIPIENTS']) {}

/**
 * The gateway's notification socket: its handshake (origins, the client address behind
 * TRUST_PROXY, connection limits), its frames, and what one connection may be owed.
 */
export abstract class WebSocketConfig extends configSlice([
  'WS_MAX_PAYLOAD_BYTES',
  'WS_MAX_BUFFERED_BYTES',
  'WS_TOKEN_EXPIRY_GRACE_SECONDS',
  'WS_ALLOWED_ORIGINS',
  'TRUST_PROXY',
  'WS_MAX_SOCKETS_PER_USER',
  'WS_MAX_SOCKETS_PER_IP',
  'WS_MAX_CONNECTIONS_PER_IP_PER_SECOND',
  'WS_MAX_FRAMES_PER_SECOND',
  'RESUME_WINDOW',
]) {}

/** The Server-Sent Events transport: its keep-alive comments and the reconnect delay it tells browsers. */
export abstract class SseConfig extends configSlice(['SSE_KEEPALIVE_SECONDS', 'SSE_RETRY_MS']) {}

/**
 * The worker running `send_notification` tasks: its name in the results, its probe port, which
 * Celery tasks it serves and how, and what it accepts and retries.
 */
export abstract class WorkerConfig extends configSlice([
  'WORKER_NAME',
  'WORKER_HTTP_PORT',
  'CELERY_TASK_NAMES',
  'CELERY_TRACK_STARTED',
  'CELERY_RESULT_EXTENDED',
  'TASK_MAX_ATTEMPTS',
  'MAX_MESSAGE_BYTES',
  'MAX_RECIPIENTS',
]) {}

/** The gateway's view of sessions across the cluster: presence heartbeats and token cut-offs. */
export abstract class SessionsConfig extends configSlice([
  'PRESENCE_TTL_SECONDS',
  'TOKEN_CUTOFF_SYNC_SECONDS',
  'TOKEN_CUTOFF_RETENTION_DAYS',
]) {}

/**
 * The worker as a Celery node: its remote-control mailbox (`celery inspect`, `celery control`,
 * revoke), how long a revoke holds, and the events Flower and `celery events` read.
 */
export abstract class CeleryNodeConfig extends configSlice([
  'WORKER_NAME',
  'AMQP_URL',
  'AMQP_QUEUE',
  'AMQP_PREFETCH',
  'CELERY_TASK_NAMES',
  'CELERY_TRACK_STARTED',
  'CELERY_REMOTE_CONTROL',
  'CELERY_CONTROL_EXCHANGE',
  'CELERY_CONTROL_ALLOW_SHUTDOWN',
  'CELERY_REVOKE_EXPIRES_SECONDS',
  'CELERY_WORKER_SEND_TASK_EVENTS',
  'CELERY_EVENT_EXCHANGE',
  'RESULT_EXPIRES_SECONDS',
  'RESULT_BACKENDS',
  'CELERY_RESULT_EXTENDED',
  'DEFERRED_TASK_HOLD_SECONDS',
]) {}

/** Tasks with a Celery eta: held in memory when due soon, else stored and published again when due. */
export abstract class DeferredTaskConfig extends configSlice(['DEFERRED_TASK_HOLD_SECONDS', 'DEFERRED_TASK_POLL_MS']) {}

/** The worker's inbox partitions: opened ahead, dropped once their notifications expire. */
export abstract class InboxPartitionsConfig extends configSlice([
  'NOTIFICATION_RETENTION_DAYS',
  'NOTIFICATION_RETENTION_INTERVAL_SECONDS',
  'NOTIFICATION_PARTITION_HOURS',
]) {}

/** The worker's deletion of expired task results (Celery's `result_expires`). */
export abstract class ResultCleanupConfig extends configSlice([
  'RESULT_EXPIRES_SECONDS',
  'RESULT_CLEANUP_BATCH_SIZE',
  'RESULT_CLEANUP_INTERVAL_SECONDS',
]) {}

/**
 * Results written to Django's cache as django-celery-results' `django-cache` backend does, for a
 * Django app whose CELERY_RESULT_BACKEND is django-cache (libs/result-cache). The database cache
 * uses DATABASE_URL unless RESULT_CACHE_DATABASE_URL is set.
 */
export abstract class ResultCacheConfig extends configSlice([
  'RESULT_BACKENDS',
  'RESULT_CACHE',
  'RESULT_CACHE_TABLE',
  'RESULT_CACHE_DATABASE_URL',
  'RESULT_CACHE_REDIS_URL',
  'RESULT_CACHE_KEY_PREFIX',
  'RESULT_CACHE_VERSION',
  'RESULT_CACHE_EXPIRES_SECONDS',
  'RESULT_CACHE_TIMEOUT_MS',
  'DATABASE_URL',
]) {}

/**
 * Whether the gateway has the demo page's helpers and mints demo tokens: the switch, and the two
 * keys that overrule it (no helpers in production; no mint without an HMAC secret to sign with).
 */
export abstract class DemoConfig extends configSlice(['DEMO_TOKEN_MINT', 'NODE_ENV', 'JWT_ALGORITHM']) {}

/**
 * Announcements to every connected user: how long they are kept (the worker prunes them) and
 * resent to a client that resumes (the gateway), and the size a `POST /api/broadcast` may carry.
 */
export abstract class BroadcastConfig extends configSlice(['BROADCAST_RETENTION_SECONDS', 'MAX_MESSAGE_BYTES']) {}

/** Every slice, each provided by `ConfigModule.forRoot`. Together they hold every key of the schema. */
export const CONFIG_SLICES: readonly AnyConfigSlice[] = [
  RuntimeConfig,
  HttpConfig,
  DatabaseConfig,
  RedisConfig,
  AmqpConfig,
  SessionsConfig,
  JwtConfig,
  PublishApiConfig,
  WebSocketConfig,
  SseConfig,
  WorkerConfig,
  CeleryNodeConfig,
  DeferredTaskConfig,
  InboxPartitionsConfig,
  BroadcastConfig,
  ResultCleanupConfig,
  ResultCacheConfig,
  DemoConfig,
];
