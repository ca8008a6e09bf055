import 'reflect-metadata';
import { loadAppConfig } from '@app/config';
import { superviseProcess } from '@app/runtime';
import { Logger } from 'nestjs-pino';
import { createGateway } from './gateway.factory';

async function bootstrap() {
  const config = loadAppConfig();
  const gateway = await createGateway(config);
  superviseProcess(gateway, gateway.get(Logger), config.SHUTDOWN_TIMEOUT_MS);
  await gateway.listen(config.PORT);
  gateway.get(Logger).log(`Gateway listening on ${await gateway.getUrl()}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
