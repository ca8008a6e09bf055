/**
 * The baseline: the same durable work as the service's worker, written directly on amqplib, pg
 * and ioredis, without the framework: the same two rows per message (the inbox row and the
 * django-celery-results row) in a transaction, then PUBLISH the frame, then ack.
 * BASELINE_GROUP_COMMIT=1 writes the messages that arrive during a transaction together in the
 * next one, as the service does; otherwise one transaction per message.
 */
import * as amqp from 'amqplib';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { Pool } from 'pg';

const env = process.env;
const pool = new Pool({ connectionString: env.DATABASE_URL, max: 10 });
const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const prefix = env.REDIS_CHANNEL_PREFIX ?? 'notifications:';
const worker = `baseline@${hostname()}`;

interface Task {
  message: amqp.ConsumeMessage;
  userId: string;
  taskId: string;
  payload: unknown;
}

async function store(tasks: Task[]): Promise<Array<{ id: string; created_at: Date }>> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      `INSERT INTO notification_inbox (user_id, task_id, message)
       SELECT u, t, m FROM unnest($1::varchar[], $2::varchar[], $3::json[]) WITH ORDINALITY AS x(u, t, m, n) ORDER BY n RETURNING id, created_at`,
      [
        tasks.map((task) => task.userId),
        tasks.map((task) => task.taskId),
        tasks.map((task) => JSON.stringify(task.payload)),
      ],
    );
    await client.query(
      `INSERT INTO django_celery_results_taskresult (task_id, status, content_type, content_encoding, result, date_done, meta, task_args, task_kwargs, task_name, worker, date_created)
       SELECT t, 'SUCCESS', 'application/json', 'utf-8', r, now(), '{"children": []}', '[]', k, 'send_notification', $4, now()
       FROM unnest($1::varchar[], $2::text[], $3::text[]) AS x(t, r, k)`,
      [
        tasks.map((task) => task.taskId),
        tasks.map((task, i) =>
          JSON.stringify({ notification_id: Number(inserted.rows[i].id), group: `Notifications_${task.userId}` }),
        ),
        tasks.map((task) => task.message.content.toString()),
        worker,
      ],
    );
    await client.query('COMMIT');
    return inserted.rows;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

async function deliver(channel: amqp.Channel, tasks: Task[]): Promise<void> {
  try {
    const rows = await store(tasks);
    await Promise.all(
      tasks.map((task, i) => {
        const frame = JSON.stringify({
          event: 'notification',
          type: 'notification',
          id: Number(rows[i].id),
          task_id: task.taskId,
          created_at: rows[i].created_at.toISOString(),
          message: task.payload,
        });
        return redis.publish(`${prefix}Notifications_${task.userId}`, frame);
      }),
    );
    for (const task of tasks) channel.ack(task.message);
  } catch {
    for (const task of tasks) channel.nack(task.message, false, true);
  }
}

const waiting: Task[] = [];
let writing = false;

async function writeWaiting(channel: amqp.Channel): Promise<void> {
  writing = true;
  while (waiting.length > 0) await deliver(channel, waiting.splice(0, 500));
  writing = false;
}

function receive(channel: amqp.Channel, message: amqp.ConsumeMessage): void {
  const { user_id: userId, message: payload } = JSON.parse(message.content.toString());
  const task = { message, userId: String(userId), taskId: message.properties.messageId as string, payload };
  if (env.BASELINE_GROUP_COMMIT !== '1') return void deliver(channel, [task]);
  waiting.push(task);
  if (!writing) void writeWaiting(channel);
}

async function main(): Promise<void> {
  const connection = await amqp.connect(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  await channel.assertQueue(env.AMQP_QUEUE, { durable: true });
  await channel.prefetch(Number(env.AMQP_PREFETCH ?? 32));
  await channel.consume(env.AMQP_QUEUE!, (message) => message && receive(channel, message));
  console.log('baseline worker consuming');
  process.once('SIGTERM', () => void connection.close().then(() => process.exit(0)));
}

void main();
