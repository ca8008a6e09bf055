import 'reflect-metadata';
import { loadAppConfig } from '@app/config';
import { superviseProcess } from '@app/runtime';
import { Logger } from 'nestjs-pino';
import { createWorker } from './worker.factory';

async function bootstrap() {
  const config = loadAppConfig();
  const worker = await createWorker(config);
  const logger = worker.get(Logger);
  superviseProcess(worker, logger, config.SHUTDOWN_TIMEOUT_MS);
  logger.log(`Worker ${config.WORKER_NAME} starting: connecting for ${worker.consumption()}`, 'Bootstrap');
  await worker.listen();
  logger.log(
    `Worker ${config.WORKER_NAME} consuming ${worker.consumption()}; health on ${worker.httpUrl()}`,
    'Bootstrap',
  );
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
