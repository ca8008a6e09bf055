import 'reflect-metadata';
import { loadAppConfig } from '@app/config';
import { superviseProcess } from '@app/runtime';
import { Logger } from 'nestjs-pino';
import type { AddressInfo } from 'node:net';
import { describeBindAddress } from './bind-address';
import { createGateway } from './gateway.factory';
import { describeServedRoutes } from './served-routes';

async function bootstrap() {
  const config = loadAppConfig();
  const gateway = await createGateway(config);
  const logger = gateway.get(Logger);
  superviseProcess(gateway, logger, config.SHUTDOWN_TIMEOUT_MS);
  await gateway.listen(config.PORT);
  const bound = describeBindAddress(gateway.getHttpServer().address() as AddressInfo);
  logger.log(
    { msg: `Gateway listening on ${bound.description}; from this machine: ${bound.localUrl}`, url: bound.localUrl },
    'Bootstrap',
  );
  logger.log(`Gateway serving ${describeServedRoutes(config)}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
