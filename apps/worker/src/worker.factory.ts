import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import type { AppConfig } from '@app/config';
import { Logger } from 'nestjs-pino';
import { TaskQueueServer } from './task-queue.server';
import { WorkerModule } from './worker.module';

/** Builds the worker consuming `AMQP_QUEUE`; `main.ts` and the integration tests share it. */
export async function createWorker(config: AppConfig): Promise<INestMicroservice> {
  const server = new TaskQueueServer({
    urls: [config.AMQP_URL],
    queue: config.AMQP_QUEUE,
    // Durable with no arguments: exactly how Celery declares it, so either side may declare first.
    queueOptions: { durable: true },
    prefetchCount: config.AMQP_PREFETCH,
  });
  const app = await NestFactory.createMicroservice(WorkerModule.forRoot(config), { strategy: server, bufferLogs: true });
  app.useLogger(app.get(Logger));
  return app;
}
