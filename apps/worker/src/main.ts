import 'reflect-metadata';
import { loadAppConfig } from '@app/config';
import { superviseProcess } from '@app/runtime';
import { Logger } from 'nestjs-pino';
import { createWorker } from './worker.factory';

async function bootstrap() {
  const config = loadAppConfig();
  const worker = await createWorker(config);
  superviseProcess(worker, worker.get(Logger), config.SHUTDOWN_TIMEOUT_MS);
  await worker.listen();
  worker
    .get(Logger)
    .log(`Worker ${config.WORKER_NAME} consuming ${config.AMQP_QUEUE}; health on ${worker.httpUrl()}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
