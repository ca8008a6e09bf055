import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { parseAppConfig } from '@app/config';
import { generateKeyPairSync } from 'node:crypto';
import { DemoModule } from './demo.module';

/** `METHOD /path` of every route the module registers for `env`. */
function routesFor(env: Record<string, string>): string[] {
  const controllers = DemoModule.forRoot(parseAppConfig(env)).controllers ?? [];
  return controllers.flatMap((controller) => {
    const prefix = Reflect.getMetadata(PATH_METADATA, controller) as string;
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype)
      .filter((name) => name !== 'constructor' && Reflect.hasMetadata(PATH_METADATA, prototype[name] as object))
      .map((name) => {
        const handler = prototype[name] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string;
        return `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]} /${prefix}${path === '/' ? '' : `/${path}`}`;
      });
  });
}

const rsaPublicKey = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('DemoModule', () => {
  it('registers the token mint only when DEMO_TOKEN_MINT is true', () => {
    expect(routesFor({ DEMO_TOKEN_MINT: 'true' })).toEqual(['GET /api/demo', 'POST /api/demo/token']);
  });

  it.each([
    ['NODE_ENV unset (development)', {}],
    ['NODE_ENV=development', { NODE_ENV: 'development' }],
    ['NODE_ENV=test', { NODE_ENV: 'test' }],
    ['DEMO_TOKEN_MINT=false', { DEMO_TOKEN_MINT: 'false' }],
  ])('has no token mint with %s, only the probe that tells the page so', (_, env) => {
    expect(routesFor(env)).toEqual(['GET /api/demo']);
  });

  it('has no token mint when the gateway holds only a public key, even switched on', () => {
    expect(routesFor({ DEMO_TOKEN_MINT: 'true', JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: rsaPublicKey() })).toEqual([
      'GET /api/demo',
    ]);
  });

  it('registers nothing with NODE_ENV=production', () => {
    expect(routesFor({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) })).toEqual([]);
  });
});
