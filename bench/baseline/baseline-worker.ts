/**
 * The baseline: the same durable work as the service's worker, written directly on amqplib, pg
 * and ioredis, without the framework. Per message, in one transaction, the same two rows (the
 * inbox row and the django-celery-results row); then PUBLISH the frame; then ack.
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

async function handle(channel: amqp.Channel, message: amqp.ConsumeMessage): Promise<void> {
  const { user_id: userId, message: payload } = JSON.parse(message.content.toString());
  const taskId = message.properties.messageId as string;
  const client = await pool.connect();
  let notification: { id: string; created_at: Date };
  try {
    await client.query('BEGIN');
    [notification] = (
      await client.query('INSERT INTO notification_inbox (user_id, task_id, message) VALUES ($1, $2, $3::json) RETURNING id, created_at', [
        String(userId),
        taskId,
        JSON.stringify(payload),
      ])
    ).rows;
    const group = `Notifications_${userId}`;
    await client.query(
      `INSERT INTO django_celery_results_taskresult (task_id, status, content_type, content_encoding, result, date_done, meta, task_args, task_kwargs, task_name, worker, date_created)
       VALUES ($1, 'SUCCESS', 'application/json', 'utf-8', $2, now(), '{"children": []}', '[]', $3, 'send_notification', $4, now())`,
      [taskId, JSON.stringify({ notification_id: Number(notification.id), group }), message.content.toString(), worker],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
  const frame = JSON.stringify({ event: 'notification', type: 'notification', id: Number(notification.id), task_id: taskId, created_at: notification.created_at.toISOString(), message: payload });
  await redis.publish(`${prefix}Notifications_${userId}`, frame);
  channel.ack(message);
}

async function main(): Promise<void> {
  const connection = await amqp.connect(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  await channel.assertQueue(env.AMQP_QUEUE!, { durable: true });
  await channel.prefetch(Number(env.AMQP_PREFETCH ?? 32));
  await channel.consume(env.AMQP_QUEUE!, (message) => {
    if (message) handle(channel, message).catch(() => channel.nack(message, false, true));
  });
  console.log('baseline worker consuming');
  process.once('SIGTERM', () => void connection.close().then(() => process.exit(0)));
}

void main();
