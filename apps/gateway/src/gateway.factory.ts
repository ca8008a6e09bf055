import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication, NestExpressBodyParserOptionsFor } from '@nestjs/platform-express';
import type { AppConfig } from '@app/config';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { GatewayModule } from './gateway.module';
import { refuseDeepJson } from './http/json-body-depth';
import { GatewayMetrics } from './notifications/gateway-metrics';
import { HandshakeChecks } from './notifications/handshake-checks';
import { NotificationGateway } from './notifications/notification.gateway';
import { NotificationsWsAdapter } from './notifications/notifications-ws.adapter';
import { serveApiDocs } from './openapi/api-docs';
import { serveStaticPages } from './web/static-pages';

/** Builds the gateway (REST + WebSocket on one port); `main.ts` and the integration tests share it. */
export async function createGateway(config: AppConfig): Promise<INestApplication> {
  // forceCloseConnections: keep-alive HTTP clients must not hold a shutdown open.
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), {
    bufferLogs: true,
    forceCloseConnections: true,
  });
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(
    new NotificationsWsAdapter(
      app,
      app.get(HandshakeChecks),
      app.get(GatewayMetrics),
      config,
      app.get(NotificationGateway),
    ),
  );
  // Nest's type leaves `verify` out because it sets its own for `rawBody`, which this app does not
  // use; without `rawBody` the options reach body-parser as they are.
  app.useBodyParser('json', { verify: refuseDeepJson } as NestExpressBodyParserOptionsFor<'json'>);
  app.use(helmet());
  // Off unless configured: the API is for tokens in headers, not for cookies from any web page.
  if (config.CORS_ORIGINS.length > 0)
    app.enableCors({ origin: config.CORS_ORIGINS, methods: ['GET', 'POST'], maxAge: 600 });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  serveApiDocs(app);
  serveStaticPages(app);
  return app;
}
