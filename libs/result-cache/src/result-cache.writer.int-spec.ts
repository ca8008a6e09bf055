import { MetricsRegistry } from '@app/metrics';
import { Redis } from 'ioredis';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { promisify } from 'node:util';
import { testConfig, uniqueName, withDatabase } from '@test/support/test-context';
import { PythonException } from './python-pickle';
import { ResultCacheWriter } from './result-cache.writer';

const run = promisify(execFile);
const PYTHON = process.env.CELERY_PEER_PYTHON ?? '/usr/bin/python3';

/** `repr(pickle.loads(...))` of each pickle, in Python. */
async function pythonReprs(pickles: Buffer[]): Promise<string[]> {
  const script = `import base64, json, pickle, sys
print(json.dumps([repr(pickle.loads(base64.b64decode(p))) for p in json.load(sys.stdin)]))`;
  const child = run(PYTHON, ['-c', script], { timeout: 30_000 });
  child.child.stdin!.end(JSON.stringify(pickles.map((pickle) => pickle.toString('base64'))));
  return JSON.parse((await child).stdout) as string[];
}

/** The table `manage.py createcachetable` makes on Postgres (Django 3.2). */
const createCacheTable = (table: string) =>
  `CREATE TABLE "${table}" ("cache_key" varchar(255) NOT NULL PRIMARY KEY, "value" text NOT NULL, "expires" timestamp with time zone NOT NULL);
   CREATE INDEX "${table}_expires" ON "${table}" ("expires")`;

function writerWith(overrides: Record<string, string>) {
  const metrics = new MetricsRegistry('test');
  const config = testConfig({ RESULT_BACKENDS: 'django-db,django-cache', ...overrides });
  return { writer: new ResultCacheWriter(config, metrics), metrics };
}

const counted = async (metrics: MetricsRegistry, name: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

const failure = (taskId: string) => ({
  taskId,
  status: 'FAILURE',
  result: new PythonException('celery.exceptions', 'NotRegistered', ['billing.tasks.charge_card']),
  traceback: 'celery.exceptions.NotRegistered: billing.tasks.charge_card',
  doneAt: new Date('2026-12-02T16:45:01.123Z'),
});

const { REDIS_URL } = testConfig();

describe('ResultCacheWriter', () => {
  describe('to a DatabaseCache table', () => {
    const table = uniqueName('cache');

    beforeAll(() => withDatabase((db) => db.query(createCacheTable(table))));
    afterAll(() => withDatabase((db) => db.query(`DROP TABLE "${table}"`)));

    it('writes the key, the base64 pickle of the meta dict and the expiry as Django does', async () => {
      const { writer, metrics } = writerWith({
        RESULT_CACHE_TABLE: table,
        RESULT_CACHE_KEY_PREFIX: 'proj',
        RESULT_CACHE_VERSION: '3',
      });
      const before = Math.floor(Date.now() / 1000);
      await writer.write(failure('t-1'));
      await writer.onModuleDestroy();
      const { rows } = await withDatabase((db) => db.query(`SELECT * FROM "${table}"`));
      expect(rows).toHaveLength(1);
      expect(rows[0].cache_key).toBe('proj:3:celery-task-meta-t-1');
      const expires = (rows[0].expires as Date).getTime() / 1000;
      expect(expires).toBeGreaterThanOrEqual(before + 86400);
      expect(expires).toBeLessThanOrEqual(before + 86401);
      expect(Number.isInteger(expires)).toBe(true);
      expect(await pythonReprs([Buffer.from(rows[0].value as string, 'base64')])).toEqual([
        // The result is a NotRegistered instance: that repr is its own __repr__.
        "{'status': 'FAILURE', 'result': Task of kind 'billing.tasks.charge_card' never registered, please make sure it's imported., 'traceback': 'celery.exceptions.NotRegistered: billing.tasks.charge_card', 'children': [], 'date_done': '2026-12-02T16:45:01.123000', 'task_id': 't-1'}",
      ]);
      expect(await counted(metrics, 'notify_result_cache_writes_total')).toBe(1);
    });

    it('overwrites an entry (the last write of a key wins) and, for a timeout of 0, the datetime.max Django writes for None', async () => {
      const { writer } = writerWith({ RESULT_CACHE_TABLE: table, RESULT_CACHE_EXPIRES_SECONDS: '0' });
      const writes = ['a', 'b', 'a'].map((id, index) =>
        writer.write({ taskId: `t-${id}`, status: 'SUCCESS', result: index, traceback: null, doneAt: new Date() }),
      );
      await Promise.all(writes);
      await writer.onModuleDestroy();
      const { rows } = await withDatabase((db) =>
        db.query(`SELECT cache_key, value, expires FROM "${table}" WHERE cache_key LIKE ':1:%' ORDER BY cache_key`),
      );
      expect(rows.map((row) => row.cache_key)).toEqual([':1:celery-task-meta-t-a', ':1:celery-task-meta-t-b']);
      expect((rows[0].expires as Date).toISOString()).toBe('9999-12-31T23:59:59.000Z');
      const [first] = await pythonReprs([Buffer.from(rows[0].value as string, 'base64')]);
      expect(first).toContain("'result': 2");
    });

    it('deletes expired entries as it writes, since Django culls only when it writes itself', async () => {
      await withDatabase((db) =>
        db.query(
          `INSERT INTO "${table}" VALUES (':1:expired', 'x', now() - interval '1 second'), (':1:alive', 'x', now() + interval '1 hour')`,
        ),
      );
      const { writer } = writerWith({ RESULT_CACHE_TABLE: table });
      await writer.write(failure('t-c'));
      await writer.onModuleDestroy();
      const { rows } = await withDatabase((db) =>
        db.query(`SELECT cache_key FROM "${table}" WHERE cache_key IN (':1:expired', ':1:alive')`),
      );
      expect(rows.map((row) => row.cache_key)).toEqual([':1:alive']);
    });

    it('counts a write the table refuses and resolves: the task goes on', async () => {
      const { writer, metrics } = writerWith({ RESULT_CACHE_TABLE: 'no_such_cache_table' });
      await expect(writer.write(failure('t-2'))).resolves.toBeUndefined();
      await writer.onModuleDestroy();
      expect(await counted(metrics, 'notify_result_cache_write_failures_total')).toBe(1);
      expect(await counted(metrics, 'notify_result_cache_writes_total')).toBe(0);
    });

    it('skips, and counts, a key longer than cache_key holds', async () => {
      const { writer, metrics } = writerWith({ RESULT_CACHE_TABLE: table });
      await writer.write(failure('x'.repeat(240)));
      await writer.onModuleDestroy();
      expect(await counted(metrics, 'notify_result_cache_write_failures_total')).toBe(1);
    });
  });

  describe('to a RedisCache', () => {
    const redis = new Redis(REDIS_URL);
    const prefix = uniqueName('cache');

    afterAll(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    it('sets the pickle under the Django key with the timeout', async () => {
      const { writer } = writerWith({
        RESULT_CACHE: 'redis',
        RESULT_CACHE_REDIS_URL: REDIS_URL,
        RESULT_CACHE_KEY_PREFIX: prefix,
        RESULT_CACHE_EXPIRES_SECONDS: '600',
      });
      await writer.write(failure('t-3'));
      await writer.onModuleDestroy();
      const key = `${prefix}:1:celery-task-meta-t-3`;
      expect(await redis.ttl(key)).toBeGreaterThan(590);
      const [loaded] = await pythonReprs([(await redis.getBuffer(key))!]);
      expect(loaded).toContain("'result': Task of kind 'billing.tasks.charge_card' never registered");
    });

    it('gives up waiting after RESULT_CACHE_TIMEOUT_MS on a Redis that does not answer', async () => {
      const connections: Socket[] = [];
      const silent: Server = createServer((socket) => connections.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { writer } = writerWith({
        RESULT_CACHE: 'redis',
        RESULT_CACHE_REDIS_URL: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        RESULT_CACHE_TIMEOUT_MS: '300',
      });
      const started = Date.now();
      await writer.write(failure('t-4'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(2000);
      await writer.onModuleDestroy();
      for (const socket of connections) socket.destroy();
      silent.close();
    });
  });
});
