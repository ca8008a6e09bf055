import { Inject, Injectable, Logger } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import { LamportClock } from '../celery-node/lamport-clock';
import { KnownTask, TaskActivity } from '../celery-node/task-activity';
import { CeleryEventDispatcher } from '../events/celery-event-dispatcher';
import { RevokedTasks } from './revoked-tasks';

/** A command's reply, as celery/worker/control.py builds them: `{"ok": ...}`, `{"error": ...}` or data. */
type Reply = unknown;
type Command = (args: Record<string, unknown>) => unknown;

const ok = (value: unknown) => ({ ok: value });
const nok = (value: unknown) => ({ error: value });

/** What ends the process when `shutdown` is allowed: the same SIGTERM path as `docker stop`. */
export const SHUTDOWN_REQUEST = Symbol('SHUTDOWN_REQUEST');
export type ShutdownRequest = () => void;

/**
 * The remote-control commands this worker answers, with the replies Celery's worker gives
 * (celery/worker/control.py). Commands that make no sense here (pool_grow, rate_limit, ...)
 * answer as unknown ones do: `{"error": "No such command: ..."}`.
 */
@Injectable()
export class ControlCommands {
  private readonly logger = new Logger(ControlCommands.name);
  private readonly commands: Record<string, Command> = {
    ping: () => ok('pong'),
    stats: () => this.stats(),
    active: () => this.activity.active().map(({ task, startedAt }) => this.requestInfo(task, startedAt)),
    scheduled: () =>
      this.activity.scheduled().map((task) => ({
        eta: task.eta?.toISOString() ?? null,
        priority: task.delivery.priority,
        request: this.requestInfo(task, null),
      })),
    // Every message this worker takes starts at once (or waits for its eta, listed by scheduled).
    reserved: () => [],
    revoked: () => this.revoked.list(),
    active_queues: () => [this.queueInfo()],
    registered: () => [...this.config.CELERY_TASK_NAMES],
    conf: () => this.conf(),
    clock: () => ({ clock: this.clock.current() }),
    enable_events: () => ok(this.events.enableTaskEvents() ? 'task events enabled' : 'task events already enabled'),
    disable_events: () => ok(this.events.disableTaskEvents() ? 'task events disabled' : 'task events already disabled'),
    heartbeat: () => this.events.sendHeartbeat().then(() => undefined),
    revoke: (args) => this.revoke(args),
    terminate: (args) => this.revoke(args),
    shutdown: () => this.shutdown(),
  };

  constructor(
    private readonly activity: TaskActivity,
    private readonly revoked: RevokedTasks,
    private readonly events: CeleryEventDispatcher,
    private readonly clock: LamportClock,
    private readonly config: CeleryNodeConfig,
    @Inject(SHUTDOWN_REQUEST) private readonly requestShutdown: ShutdownRequest,
  ) {}

  /** Whether `method` is a command this worker answers (metrics label only those by name). */
  knows(method: string): boolean {
    return Object.hasOwn(this.commands, method);
  }

  /** Runs a command; a failure or an unknown command becomes an `{"error": ...}` reply, as kombu's. */
  async run(method: string, args: Record<string, unknown>): Promise<Reply> {
    const command = this.knows(method) ? this.commands[method] : undefined;
    if (!command) return nok(`No such command: ${method}`);
    try {
      return await command(args);
    } catch (error) {
      this.logger.error({ msg: 'Control command failed', method, error: (error as Error).message });
      return nok((error as Error).message);
    }
  }

  /** `revoke` (and `terminate`, which is a revoke here: a running task finishes in milliseconds). */
  private async revoke(args: Record<string, unknown>): Promise<Reply> {
    const ids = (Array.isArray(args.task_id) ? args.task_id : [args.task_id]).filter(
      (id): id is string => typeof id === 'string' && id.length > 0 && id.length <= 255,
    );
    if (ids.length === 0) return nok('revoke needs task_id: a task id or a list of them');
    await this.revoked.revoke(ids);
    this.logger.log({ msg: 'Tasks flagged as revoked', taskIds: ids, terminate: args.terminate === true });
    return ok(`tasks ${ids.join(', ')} flagged as revoked`);
  }

  private shutdown(): Reply {
    if (!this.config.CELERY_CONTROL_ALLOW_SHUTDOWN) {
      this.logger.warn({ msg: 'Remote shutdown refused (CELERY_CONTROL_ALLOW_SHUTDOWN=false)' });
      return nok('shutdown refused: this worker has CELERY_CONTROL_ALLOW_SHUTDOWN=false');
    }
    this.logger.warn({ msg: 'Got shutdown from remote' });
    this.requestShutdown();
    return ok('shutting down');
  }

  private requestInfo(task: KnownTask, startedAt: number | null) {
    return {
      id: task.taskId,
      name: task.taskName,
      args: task.argsRepr,
      kwargs: task.kwargsRepr,
      type: task.taskName,
      hostname: this.activity.hostname,
      time_start: startedAt === null ? null : startedAt / 1000,
      acknowledged: false,
      delivery_info: {
        exchange: task.delivery.exchange,
        routing_key: task.delivery.routingKey,
        priority: task.delivery.priority,
        redelivered: task.delivery.redelivered,
      },
      worker_pid: startedAt === null ? null : process.pid,
    };
  }

  private stats() {
    const usage = process.resourceUsage();
    const broker = new URL(this.config.AMQP_URL);
    return {
      total: this.activity.totalsByName(),
      pid: process.pid,
      clock: String(this.clock.current()),
      uptime: Math.round((Date.now() - this.activity.startedAt) / 1000),
      pool: {
        // One event loop runs up to a prefetch window of tasks at once.
        'max-concurrency': this.config.AMQP_PREFETCH,
        processes: [process.pid],
        'max-tasks-per-child': 'N/A',
        'put-guarded-by-semaphore': false,
        timeouts: [0, 0],
      },
      prefetch_count: this.config.AMQP_PREFETCH,
      broker: {
        hostname: broker.hostname,
        userid: decodeURIComponent(broker.username) || 'guest',
        virtual_host: decodeURIComponent(broker.pathname.slice(1)) || '/',
        port: Number(broker.port) || (broker.protocol === 'amqps:' ? 5671 : 5672),
        insist: false,
        ssl: broker.protocol === 'amqps:',
        transport: 'amqp',
        connect_timeout: 4,
        transport_options: {},
        login_method: 'PLAIN',
        uri_prefix: null,
        heartbeat: 10,
      },
      rusage: {
        utime: usage.userCPUTime / 1e6,
        stime: usage.systemCPUTime / 1e6,
        maxrss: usage.maxRSS,
        ixrss: usage.sharedMemorySize,
        idrss: usage.unsharedDataSize,
        isrss: usage.unsharedStackSize,
        minflt: usage.minorPageFault,
        majflt: usage.majorPageFault,
        nswap: usage.swappedOut,
        inblock: usage.fsRead,
        oublock: usage.fsWrite,
        msgsnd: usage.ipcSent,
        msgrcv: usage.ipcReceived,
        nsignals: usage.signalsCount,
        nvcsw: usage.voluntaryContextSwitches,
        nivcsw: usage.involuntaryContextSwitches,
      },
    };
  }

  /** As kombu's `Queue.as_dict(recurse=True)` for the task queue (declared as Celery declares it). */
  private queueInfo() {
    const queue = this.config.AMQP_QUEUE;
    return {
      name: queue,
      exchange: {
        name: queue,
        type: 'direct',
        arguments: null,
        durable: true,
        passive: false,
        auto_delete: false,
        delivery_mode: null,
        no_declare: false,
      },
      routing_key: queue,
      queue_arguments: null,
      binding_arguments: null,
      consumer_arguments: null,
      durable: true,
      exclusive: false,
      auto_delete: false,
      no_ack: false,
      alias: null,
      bindings: [],
      no_declare: null,
      expires: null,
      message_ttl: null,
      max_length: null,
      max_length_bytes: null,
      max_priority: null,
    };
  }

  /** A safe subset of the worker's settings under Celery's names; the broker password is masked. */
  private conf() {
    const broker = new URL(this.config.AMQP_URL);
    if (broker.password) broker.password = '**';
    const usesCache = this.config.RESULT_BACKENDS.includes('django-cache');
    return {
      broker_url: broker.toString(),
      // As the Django app names its backend: the cache when the worker writes results there too.
      // The table's rows always carry the extended fields; the cache's only when asked.
      result_backend: usesCache ? 'django-cache' : 'django-db',
      result_extended: !usesCache || this.config.CELERY_RESULT_EXTENDED,
      result_expires: this.config.RESULT_EXPIRES_SECONDS || null,
      task_track_started: this.config.CELERY_TRACK_STARTED,
      task_default_queue: this.config.AMQP_QUEUE,
      worker_prefetch_multiplier: 1,
      worker_concurrency: this.config.AMQP_PREFETCH,
      worker_send_task_events: this.events.sendsTaskEvents,
      worker_revoke_expires: this.config.CELERY_REVOKE_EXPIRES_SECONDS,
      control_exchange: this.config.CELERY_CONTROL_EXCHANGE,
      event_exchange: this.config.CELERY_EVENT_EXCHANGE,
      accept_content: ['json'],
      enable_utc: true,
    };
  }
}
