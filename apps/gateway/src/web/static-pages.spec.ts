import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATIC_PAGES, serveStaticPages } from './static-pages';

/** The policy docs/operations.md promises, read from the document itself. */
function documentedPolicy(): string {
  const doc = readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'operations.md'), 'utf8');
  const policy = /^Content-Security-Policy: (.+)$/m.exec(doc)?.[1];
  if (!policy) throw new Error('docs/operations.md states no Content-Security-Policy');
  return policy;
}

describe('static pages', () => {
  let app: INestApplication;
  let base: string;
  const directory = mkdtempSync(join(tmpdir(), 'pages-'));

  beforeAll(async () => {
    for (const page of STATIC_PAGES) {
      mkdirSync(join(directory, page));
      writeFileSync(join(directory, page, 'index.html'), '<!doctype html><title>page</title>');
    }
    app = (await Test.createTestingModule({}).compile()).createNestApplication({ logger: false });
    serveStaticPages(app, directory);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it.each(STATIC_PAGES)('serve /%s/ with the Content-Security-Policy the documentation states', async (page) => {
    const response = await fetch(`${base}/${page}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(documentedPolicy());
  });

  it('allow no inline script or style and no framing', () => {
    const directives = Object.fromEntries(
      documentedPolicy()
        .split('; ')
        .map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1)]),
    );
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(documentedPolicy()).not.toContain('upgrade-insecure-requests');
  });
});
