import { Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

/** The URL prefixes of the browser pages and the SDK's browser build, as directories of dist/public. */
export const STATIC_PAGES = ['demo', 'admin', 'sdk'] as const;

/**
 * The pages' own Content-Security-Policy, replacing helmet's default for these files: scripts and
 * styles from this origin only, WebSockets to any host, and none of helmet's
 * `upgrade-insecure-requests`, which would turn the page's requests to https on a plain-HTTP host.
 */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Where `npm run build` puts the pages and the SDK bundle: dist/public. From the built gateway
 * (dist/apps/gateway/src/web) that is four levels up; from the sources (tests in process), the
 * repository's dist/public.
 */
export function publicDirectory(): string | null {
  const candidates = [
    join(__dirname, '..', '..', '..', '..', 'public'),
    join(__dirname, '..', '..', '..', '..', 'dist', 'public'),
  ];
  return candidates.find((candidate) => existsSync(join(candidate, 'demo', 'index.html'))) ?? null;
}

/** Serves `/demo/`, `/admin/` and `/sdk/` as static files (no cookies, no server-side rendering). */
export function serveStaticPages(app: INestApplication, directory = publicDirectory()): void {
  if (!directory) {
    new Logger('StaticPages').warn('dist/public not found (run npm run build): /demo/ and /admin/ are not served');
    return;
  }
  const express = app as NestExpressApplication;
  for (const page of STATIC_PAGES) {
    express.useStaticAssets(join(directory, page), {
      prefix: `/${page}`,
      index: 'index.html',
      fallthrough: true,
      setHeaders: (response: ServerResponse) => {
        response.setHeader('Content-Security-Policy', PAGE_CSP);
        response.setHeader('Cache-Control', 'no-cache');
      },
    });
  }
}
