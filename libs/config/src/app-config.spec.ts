import { generateKeyPairSync } from 'node:crypto';
import { InvalidConfigError, loadAppConfig, parseAppConfig } from './app-config';

function ecPublicKey(namedCurve: string): string {
  return generateKeyPairSync('ec', { namedCurve }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

describe('parseAppConfig', () => {
  it('accepts a public key of the kind the algorithm needs', () => {
    expect(parseAppConfig({ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: ecPublicKey('prime256v1') }).JWT_ALGORITHM).toBe(
      'ES256',
    );
  });

  it('gives defaults that point at the local services', () => {
    const config = parseAppConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/notifications');
    expect(config.AMQP_QUEUE).toBe('send_notification');
    expect(config.WS_MAX_PAYLOAD_BYTES).toBe(65536);
  });

  it('coerces numbers and treats empty values as unset', () => {
    const config = parseAppConfig({ PORT: '8080', AMQP_PREFETCH: '', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(8080);
    expect(config.AMQP_PREFETCH).toBe(1000);
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it('reads REDIS_CLUSTER_NODES as cluster seed nodes, none by default', () => {
    expect(parseAppConfig({}).REDIS_CLUSTER_NODES).toEqual([]);
    expect(
      parseAppConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001,[::1]:7002' }).REDIS_CLUSTER_NODES,
    ).toEqual([
      { host: 'redis-1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('reads TRUST_PROXY as proxy addresses, CIDRs and presets, none by default', () => {
    expect(parseAppConfig({}).TRUST_PROXY).toEqual([]);
    expect(parseAppConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8,192.168.1.7' }).TRUST_PROXY).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.1.7',
    ]);
  });

  it('keeps the demo token mint off unless DEMO_TOKEN_MINT switches it on, whatever NODE_ENV says', () => {
    expect(parseAppConfig({}).DEMO_TOKEN_MINT).toBe(false);
    expect(parseAppConfig({ NODE_ENV: 'development' }).DEMO_TOKEN_MINT).toBe(false);
    expect(parseAppConfig({ DEMO_TOKEN_MINT: 'true' }).DEMO_TOKEN_MINT).toBe(true);
    expect(parseAppConfig({ NODE_ENV: 'test', DEMO_TOKEN_MINT: 'true' }).DEMO_TOKEN_MINT).toBe(true);
  });

  it.each([
    ['production', 'x'],
    ['production', 'x'.repeat(31)],
    ['test', 'integration-test-secret'],
    ['test', 'é'.repeat(15)], // 15 characters, 30 bytes
  ])('refuses with NODE_ENV=%s an HMAC secret under 32 bytes (%j)', (nodeEnv, secret) => {
    for (const algorithm of ['HS256', 'HS384', 'HS512']) {
      expect(() => parseAppConfig({ NODE_ENV: nodeEnv, JWT_ALGORITHM: algorithm, JWT_SECRET: secret })).toThrow(
        /JWT_SECRET: .*at least 32 bytes/,
      );
    }
  });

  it('does not print the short secret it refuses', () => {
    expect(() => parseAppConfig({ NODE_ENV: 'production', JWT_SECRET: 'integration-test-secret' })).not.toThrow(
      'integration-test-secret',
    );
  });

  it('accepts HMAC secrets of 32 bytes and more outside development, and any length in development', () => {
    expect(parseAppConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).JWT_SECRET).toHaveLength(32);
    expect(parseAppConfig({ NODE_ENV: 'test', JWT_SECRET: 'é'.repeat(16) }).JWT_SECRET).toHaveLength(16);
    expect(parseAppConfig({ NODE_ENV: 'development', JWT_SECRET: 'x' }).JWT_SECRET).toBe('x');
    expect(parseAppConfig({ JWT_SECRET: 'x' }).NODE_ENV).toBe('development');
  });

  it('does not hold an unused JWT_SECRET to the length rule when tokens are verified with a public key', () => {
    const env = {
      NODE_ENV: 'production',
      JWT_ALGORITHM: 'ES256',
      JWT_PUBLIC_KEY: ecPublicKey('prime256v1'),
      JWT_SECRET: 'x',
    };
    expect(parseAppConfig(env).JWT_ALGORITHM).toBe('ES256');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: 'proxy.internal' }, 'TRUST_PROXY'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://localhost/x' }, 'DATABASE_URL'],
    [{ AMQP_URL: 'not a url' }, 'AMQP_URL'],
    [{ JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM'],
    [{ JWT_ALGORITHM: 'RS256' }, 'JWT_PUBLIC_KEY'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ JWT_SECRET: '-----BEGIN PUBLIC KEY-----\nMFkw...' }, 'JWT_SECRET'],
    [{ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: 'not a key' }, 'JWT_PUBLIC_KEY'],
    [{ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: ecPublicKey('prime256v1') }, 'JWT_PUBLIC_KEY'],
    [{ JWT_ALGORITHM: 'ES256', JWT_PUBLIC_KEY: ecPublicKey('secp384r1') }, 'JWT_PUBLIC_KEY'],
    [{ WS_ALLOWED_ORIGINS: 'x', WS_MAX_FRAMES_PER_SECOND: '0' }, 'WS_MAX_FRAMES_PER_SECOND'],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis:0' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000' }, 'REDIS_CLUSTER_NODES'],
    [{ PUBLISH_API_TOKENS: `${'x'.repeat(40)},short` }, 'PUBLISH_API_TOKENS'],
    [{ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), DEMO_TOKEN_MINT: 'true' }, 'DEMO_TOKEN_MINT'],
    [{ DEMO_TOKEN_MINT: 'yes' }, 'DEMO_TOKEN_MINT'],
    [{ RESULT_BACKENDS: 'django-db,redis' }, 'RESULT_BACKENDS'],
    [{ RESULT_BACKENDS: 'django-cache' }, 'RESULT_BACKENDS'],
    [{ RESULT_BACKENDS: 'django-db,django-cache', RESULT_CACHE: 'redis' }, 'RESULT_CACHE_REDIS_URL'],
    [{ RESULT_CACHE: 'memcached' }, 'RESULT_CACHE'],
    [{ RESULT_CACHE_TABLE: 'my cache; drop' }, 'RESULT_CACHE_TABLE'],
    [{ RESULT_CACHE_REDIS_URL: 'http://127.0.0.1:6379' }, 'RESULT_CACHE_REDIS_URL'],
    [{ RESULT_CACHE_VERSION: '1.5' }, 'RESULT_CACHE_VERSION'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => parseAppConfig(env)).toThrow(InvalidConfigError);
    expect(() => parseAppConfig(env)).toThrow(new RegExp(`${variable}: `));
  });
});

describe('the result backends', () => {
  it('write to django-db only by default, with the cache settings of Django and Celery by default', () => {
    expect(parseAppConfig({})).toMatchObject({
      RESULT_BACKENDS: ['django-db'],
      RESULT_CACHE: 'database',
      RESULT_CACHE_TABLE: 'my_cache_table',
      RESULT_CACHE_KEY_PREFIX: '',
      RESULT_CACHE_VERSION: 1,
      RESULT_CACHE_EXPIRES_SECONDS: 86400,
    });
  });

  it('add django-cache on a Redis the user names', () => {
    const config = parseAppConfig({
      RESULT_BACKENDS: 'django-db, django-cache,django-cache',
      RESULT_CACHE: 'redis',
      RESULT_CACHE_REDIS_URL: 'redis://cache:6379/2',
    });
    expect(config.RESULT_BACKENDS).toEqual(['django-db', 'django-cache']);
    expect(config.RESULT_CACHE_REDIS_URL).toBe('redis://cache:6379/2');
  });
});

describe('loadAppConfig', () => {
  const { mkdtempSync, writeFileSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
  const { join } = jest.requireActual<typeof import('node:path')>('node:path');
  const { tmpdir } = jest.requireActual<typeof import('node:os')>('node:os');

  it('reads a .env file without overriding variables already set', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'env-')), '.env');
    writeFileSync(file, 'WS_MAX_BUFFERED_BYTES=4096\nLOG_LEVEL=trace\n');
    const saved = { ...process.env };
    process.env.LOG_LEVEL = 'warn';
    try {
      const config = loadAppConfig(file);
      expect(config.WS_MAX_BUFFERED_BYTES).toBe(4096);
      expect(config.LOG_LEVEL).toBe('warn');
    } finally {
      process.env = saved;
    }
  });
});
