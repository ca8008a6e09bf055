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
  superviseProcess(gateway, gateway.get(Logger), config.SHUTDOWN_TIMEOUT_MS);
  await gateway.listen(config.PORT);
  const bound = describeBindAddress(gateway.getHttpServer().address() as AddressInfo);
  gateway
    .get(Logger)
    .log(
      { msg: `Gateway listening on ${bound.description}, here ${bound.localUrl}`, url: bound.localUrl },
      'Bootstrap',
    );
  gateway.get(Logger).log(`Gateway serving ${describeServedRoutes(config)}`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
