import { Test } from '@nestjs/testing';
import { APP_CONFIG_KEYS, parseAppConfig } from './app-config';
import { CONFIG_SLICES, JwtConfig, RedisConfig } from './config-slices';
import { ConfigModule } from './config.module';

describe('config slices', () => {
  it('hold every key of the schema between them, and no other', () => {
    const sliced = new Set(CONFIG_SLICES.flatMap((slice) => slice.keys));
    expect(APP_CONFIG_KEYS.filter((key) => !sliced.has(key))).toEqual([]);
    expect([...sliced].filter((key) => !APP_CONFIG_KEYS.includes(key))).toEqual([]);
  });

  it('each name a key once', () => {
    for (const slice of CONFIG_SLICES) expect(slice.keys).toEqual([...new Set(slice.keys)]);
  });
});

describe('ConfigModule.forRoot', () => {
  const config = parseAppConfig({ JWT_ISSUER: 'https://issuer.test', REDIS_CHANNEL_PREFIX: 'test:' });
  const { providers } = ConfigModule.forRoot(config);

  it('provides each slice, frozen, holding exactly its keys with the config values', () => {
    for (const slice of CONFIG_SLICES) {
      const provided = providers.find((provider) => provider.provide === slice)?.useValue as Record<string, unknown>;
      expect([slice.name, Object.keys(provided)]).toEqual([slice.name, slice.keys]);
      expect(Object.isFrozen(provided)).toBe(true);
      for (const key of slice.keys) expect(provided[key]).toBe(config[key]);
    }
  });

  it('provides the slices and nothing else: no class can ask for the whole config', () => {
    expect(providers.map((provider) => provider.provide)).toEqual(CONFIG_SLICES);
  });

  it('makes each slice injectable by its class', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config)] }).compile();
    expect(moduleRef.get(RedisConfig)).toEqual({
      REDIS_URL: config.REDIS_URL,
      REDIS_CHANNEL_PREFIX: 'test:',
      REDIS_CLUSTER_NODES: [],
    });
    expect(moduleRef.get(JwtConfig).JWT_ISSUER).toBe('https://issuer.test');
  });
});
