import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { Logger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import { SendNotificationConsumer } from './notifications/send-notification.consumer';
import { TaskQueueServer } from './task-queue.server';
import { WorkerModule } from './worker.module';

/**
 * The worker: the `AMQP_QUEUE` consumer plus a small HTTP listener on `WORKER_HTTP_PORT` for the
 * health probes. `close()` drains the consumer before the app closes: Nest's own close would run
 * the destroy hooks (database, Redis) first and dispose the consumer last, under messages in flight.
 */
export interface WorkerApp {
  /** Starts consuming, then serves the probes. */
  listen(): Promise<void>;
  close(): Promise<void>;
  get: INestApplication['get'];
  /** Where the probes are served, once listening. */
  httpUrl(): string;
  /** The queue, its type, the prefetch and the broker (no credentials), for the start-up log. */
  consumption(): string;
}

/** Builds the worker; `main.ts` and the integration tests share it. */
export async function createWorker(config: AppConfig): Promise<WorkerApp> {
  const consumer = new TaskQueueServer({
    urls: [config.AMQP_URL],
    queue: config.AMQP_QUEUE,
    // Declared as the publishers (and Celery) declare it: libs/publishing task-queue.ts.
    queueType: config.AMQP_QUEUE_TYPE,
    prefetchCount: config.AMQP_PREFETCH,
  });
  const app = await NestFactory.create(WorkerModule.forRoot(config, consumer), {
    bufferLogs: true,
    forceCloseConnections: true,
  });
  app.useLogger(app.get(Logger));
  // Buffered logs would wait for listen() to finish, which waits for the broker: a worker that
  // cannot reach it must still say so.
  app.flushLogs();
  app.connectMicroservice({ strategy: consumer }, { inheritAppConfig: true });
  const sendNotification = app.get(SendNotificationConsumer, { strict: false });
  consumer.handleWith((context) => sendNotification.consume(context));
  return {
    async listen() {
      await app.startAllMicroservices();
      await app.listen(config.WORKER_HTTP_PORT);
    },
    async close() {
      await consumer.close();
      await app.close();
    },
    get: app.get.bind(app),
    consumption: () => consumer.describeConsumption(),
    httpUrl() {
      const { port } = app.getHttpServer().address() as AddressInfo;
      return `http://127.0.0.1:${port}`;
    },
  };
}
