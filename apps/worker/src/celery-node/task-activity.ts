import { Injectable } from '@nestjs/common';
import { CeleryNodeConfig } from '@app/config';
import { pythonRepr } from './python-repr';

/** A task as the worker came to know it, in the terms Celery's inspect replies and events use. */
export interface KnownTask {
  taskId: string;
  taskName: string;
  /** Python reprs, as Celery's `argsrepr`/`kwargsrepr`. */
  argsRepr: string;
  kwargsRepr: string;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  rootId: string | null;
  parentId: string | null;
  /** What Celery's `delivery_info` holds of the AMQP delivery. */
  delivery: { exchange: string; routingKey: string; priority: number; redelivered: boolean };
}

/** How a task's run ended, as Celery reports it in its events. */
export type TaskEnd =
  | { status: 'SUCCESS'; result: unknown }
  | { status: 'FAILURE'; exception: string; traceback: string }
  | { status: 'REVOKED'; expired: boolean }
  | { status: 'REJECTED' };

/**
 * A Celery event: its type (`task-succeeded`) and its fields, before the sender's own are added.
 * The fields are made on request: with task events off (the default) nobody asks, and their
 * Python reprs are not worth making for every task.
 */
export type TaskEventListener = (type: string, fields: () => Record<string, unknown>) => void;

interface Running {
  task: KnownTask;
  startedAt: number;
}

/**
 * What the worker is doing, as Celery's `worker.state` keeps it: the tasks it runs, the ones it
 * holds for their eta, how many it ran. The remote-control replies read it; the event dispatcher
 * listens to it. The consumer tells it each step of a task.
 */
@Injectable()
export class TaskActivity {
  private readonly running = new Map<string, Running>();
  private readonly held = new Map<string, KnownTask>();
  private readonly totals = new Map<string, number>();
  private readonly listeners: TaskEventListener[] = [];
  private processedCount = 0;
  readonly startedAt = Date.now();

  constructor(private readonly config: CeleryNodeConfig) {}

  get hostname(): string {
    return this.config.WORKER_NAME;
  }

  onEvent(listener: TaskEventListener): void {
    this.listeners.push(listener);
  }

  received(task: KnownTask): void {
    this.emit('task-received', () => ({
      uuid: task.taskId,
      name: task.taskName,
      args: task.argsRepr,
      kwargs: task.kwargsRepr,
      root_id: task.rootId ?? task.taskId,
      parent_id: task.parentId,
      retries: task.retries,
      eta: task.eta?.toISOString() ?? null,
      expires: task.expires?.toISOString() ?? null,
    }));
  }

  /** The task waits in memory for its eta (not when it is stored in Postgres). */
  holding(task: KnownTask): void {
    this.held.set(task.taskId, task);
  }

  released(taskId: string): void {
    this.held.delete(taskId);
  }

  started(task: KnownTask): void {
    this.held.delete(task.taskId);
    this.running.set(task.taskId, { task, startedAt: Date.now() });
    this.totals.set(task.taskName, (this.totals.get(task.taskName) ?? 0) + 1);
    this.emit('task-started', () => ({ uuid: task.taskId }));
  }

  /** The run ended without an outcome (it will be retried, or the worker is closing). */
  abandoned(taskId: string): void {
    this.running.delete(taskId);
    this.held.delete(taskId);
  }

  ended(taskId: string, end: TaskEnd): void {
    const run = this.running.get(taskId);
    this.abandoned(taskId);
    this.processedCount += 1;
    const runtime = run ? (Date.now() - run.startedAt) / 1000 : 0;
    if (end.status === 'SUCCESS')
      this.emit('task-succeeded', () => ({ uuid: taskId, result: pythonRepr(end.result), runtime }));
    else if (end.status === 'FAILURE')
      this.emit('task-failed', () => ({ uuid: taskId, exception: end.exception, traceback: end.traceback }));
    else if (end.status === 'REVOKED')
      this.emit('task-revoked', () => ({ uuid: taskId, terminated: false, signum: null, expired: end.expired }));
    else this.emit('task-rejected', () => ({ uuid: taskId, requeue: false }));
  }

  active(): Array<{ task: KnownTask; startedAt: number }> {
    return [...this.running.values()];
  }

  scheduled(): KnownTask[] {
    return [...this.held.values()];
  }

  /** Tasks started since the worker started, by task name (Celery's `total`). */
  totalsByName(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }

  get processed(): number {
    return this.processedCount;
  }

  private emit(type: string, fields: () => Record<string, unknown>): void {
    for (const listener of this.listeners) listener(type, fields);
  }
}
