import type { AppConfig } from '@app/config';
import { API_DOCS_PATH } from './openapi/api-docs';
import { publicDirectory } from './web/static-pages';

/** What the gateway serves, for its start-up log: an operator sees at once what is on and off. */
export function describeServedRoutes(
  config: Pick<AppConfig, 'DEMO_TOKEN_MINT' | 'PUBLISH_API_TOKENS'>,
  pages = publicDirectory() !== null,
): string {
  return [
    'WebSocket /ws/notifications/',
    'Server-Sent Events /api/notifications/stream',
    'REST /api/notifications, /api/tasks, /api/scheduled_tasks, /api/admin',
    `/api/publish, /api/broadcast (admin tokens${config.PUBLISH_API_TOKENS.length > 0 ? ` and ${config.PUBLISH_API_TOKENS.length} service tokens` : ''})`,
    `/${API_DOCS_PATH}`,
    pages
      ? `pages /admin/ and /demo/ (demo token mint ${config.DEMO_TOKEN_MINT ? 'ON' : 'off'})`
      : 'no pages (dist/public missing)',
    '/metrics',
    '/health/live, /health/ready',
  ].join('; ');
}
