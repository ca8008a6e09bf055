import { parseAppConfig } from '@app/config';
import type { AppConfig } from '@app/config';
import { deadLetterQueueOf, deadLetterQueueOptions, taskQueueOptions } from '@app/publishing';
import type { QueueType } from '@app/publishing';
import * as amqp from 'amqplib';
import jwt from 'jsonwebtoken';
import { notificationFrameOf } from '@app/contracts';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { WebSocket } from 'ws';

/** Config for the run's database and prefix (see global-setup) with a queue of the test's own. */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return parseAppConfig({ ...process.env, AMQP_QUEUE: uniqueName('send_notification'), PORT: '0', ...overrides });
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.env.TEST_RUN_ID}_${randomBytes(3).toString('hex')}`;
}

export function signToken(
  claims: object,
  secret = process.env.JWT_SECRET!,
  options: jwt.SignOptions = { expiresIn: 300 },
): string {
  return jwt.sign(claims, secret, options);
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Publishes raw bodies to a queue the way other services would, on its own connection. */
export class TestPublisher {
  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
  ) {}

  static async connect(url = testConfig().AMQP_URL): Promise<TestPublisher> {
    const connection = await amqp.connect(url);
    return new TestPublisher(connection, await connection.createConfirmChannel());
  }

  async publish(queue: string, body: Buffer | string | object, properties: amqp.Options.Publish = {}): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.sendToQueue(queue, content, { persistent: true, ...properties });
    await this.channel.waitForConfirms();
  }

  /** Publishes a plain message for the user and waits until a worker stored it; the notification's id. */
  async notify(queue: string, userId: string, message: unknown): Promise<number> {
    const taskId = randomUUID();
    await this.publish(queue, { user_id: userId, message }, { messageId: taskId });
    const row = await eventually(() => taskRow(taskId), 15_000, `task ${taskId}`);
    return JSON.parse(row.result as string).notification_id as number;
  }

  /** Declares the queue as the worker and the publishers declare it (RabbitMQ refuses a mismatch). */
  async declare(queue: string, type: QueueType = 'classic'): Promise<void> {
    await this.channel.assertQueue(queue, taskQueueOptions(type));
  }

  /** Declares the dead-letter queue of `taskQueue` as the worker does. */
  async declareDeadLetterQueue(taskQueue: string, type: QueueType = 'classic'): Promise<void> {
    await this.channel.assertQueue(deadLetterQueueOf(taskQueue), deadLetterQueueOptions(type));
  }

  async purge(queue: string): Promise<void> {
    await this.channel.purgeQueue(queue);
  }

  /** Takes one message off a queue (acknowledged), or false when it is empty. */
  get(queue: string): Promise<amqp.GetMessage | false> {
    return this.channel.get(queue, { noAck: true });
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  async deleteQueue(queue: string): Promise<void> {
    await this.channel.deleteQueue(queue);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * Whether RabbitMQ accepts declaring `queue` again as a queue of `type` (it refuses a declaration
 * that differs from the queue's with 406 PRECONDITION_FAILED): how a test tells a queue's type
 * without the management plugin. On a connection of its own, as a refusal closes the channel.
 */
export async function redeclareAccepted(queue: string, type: QueueType, url = testConfig().AMQP_URL): Promise<boolean> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.checkQueue(queue); // passive: throws (404) when there is no such queue
    return await channel.assertQueue(queue, taskQueueOptions(type)).then(
      () => true,
      (error: { code?: number }) => {
        if (error.code !== 406) throw error;
        return false;
      },
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Direct SQL on the run's database, for asserting on what the service wrote. */
export async function withDatabase<T>(run: (db: Client) => Promise<T>, url = process.env.DATABASE_URL): Promise<T> {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return await run(db);
  } finally {
    await db.end();
  }
}

/**
 * Stores a notification as the worker does (its seq drawn from the user's counter, in one
 * transaction) without a worker; returns the frame the worker would publish for it.
 */
export async function storeNotification(
  userId: string,
  message: unknown,
  { taskId = randomUUID(), createdAt = new Date(), databaseUrl = process.env.DATABASE_URL } = {},
): Promise<{ id: number; seq: number; frame: string }> {
  return withDatabase(async (db) => {
    const { rows } = await db.query(
      `WITH "drawn" AS (
         INSERT INTO notification_sequence AS s (user_id, last_seq) VALUES ($1, 1)
         ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + 1 RETURNING last_seq)
       INSERT INTO notification_inbox (user_id, task_id, message, seq, created_at) SELECT $1, $2, $3, last_seq, $4 FROM "drawn"
       RETURNING id::int, seq::int, created_at AS "createdAt"`,
      [userId, taskId, JSON.stringify(message), createdAt],
    );
    const { id, seq } = rows[0];
    return {
      id,
      seq,
      frame: notificationFrameOf({
        id,
        seq,
        taskId,
        createdAt: rows[0].createdAt,
        messageJson: JSON.stringify(message),
      }),
    };
  }, databaseUrl);
}

export async function taskRow(taskId: string): Promise<Record<string, unknown> | undefined> {
  return withDatabase(
    async (db) =>
      (await db.query('SELECT * FROM django_celery_results_taskresult WHERE task_id = $1', [taskId])).rows[0],
  );
}

/** A WebSocket client that records every frame, for asserting who received what. */
export class TestSocket {
  readonly frames: Array<Record<string, unknown>> = [];
  closeCode: number | null = null;
  closeReason = '';
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.frames.push(JSON.parse((data as Buffer).toString())));
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
  }

  /** Opens a socket and waits for the gateway's `connected` frame (the group subscription is live). */
  static async open(url: string, protocols?: string[]): Promise<TestSocket> {
    const client = new TestSocket(new WebSocket(url, protocols));
    await new Promise<void>((resolve, reject) => {
      client.socket.once('error', reject);
      client.socket.once('unexpected-response', (_, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      client.socket.once('close', (code) => reject(new Error(`closed with ${code} before connected`)));
      const waitForConnected = () =>
        client.framesOf('connected').length ? resolve() : setTimeout(waitForConnected, 10);
      client.socket.once('open', waitForConnected);
    });
    return client;
  }

  framesOf(event: string): Array<Record<string, unknown>> {
    return this.frames.filter((frame) => frame.event === event);
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  nextFrame(): Promise<Record<string, unknown>> {
    const seen = this.frames.length;
    return eventually(() => this.frames[seen], 5000, 'a frame');
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close();
    await closed;
  }
}

/** The HTTP status a WebSocket upgrade was answered with, when it was refused. */
export function upgradeStatus(url: string, protocols?: string[]): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    socket.once('unexpected-response', (_, response) => resolve(response.statusCode ?? 0));
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('error', (error) => reject(error));
  });
}
