import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Where the OpenAPI description is served: Swagger UI here, the JSON document at `/docs-json`. */
export const API_DOCS_PATH = 'docs';

/**
 * Describes the REST API, the Server-Sent Events stream's request and refusals included (the
 * WebSocket protocol and the stream's events are in docs/websocket-protocol.md: OpenAPI cannot
 * describe them).
 * Built from the controllers' decorators at start-up, so it cannot drift from the routes.
 */
export function serveApiDocs(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('notification-service')
    .setDescription(
      'REST API of the notification gateway. Admin endpoints take an access token with admin rights; ' +
        '`POST /api/publish` and `POST /api/broadcast` also take a service token from `PUBLISH_API_TOKENS`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  SwaggerModule.setup(API_DOCS_PATH, app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: `${API_DOCS_PATH}-json`,
  });
}
