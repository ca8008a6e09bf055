import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { testConfig, withDatabase } from '@test/support/test-context';
import { dataSourceOptions } from './data-source-options';
import { TokenCutoffRepository } from './token-cutoff.repository';

describe('TokenCutoffRepository (real Postgres)', () => {
  const config = testConfig();
  const database = new DataSource(dataSourceOptions(config.DATABASE_URL, 2));
  const cutoffs = new TokenCutoffRepository(database);
  const users: string[] = [];
  const newUser = () => {
    users.push(`cutoff-${randomUUID().slice(0, 8)}`);
    return users[users.length - 1];
  };

  beforeAll(() => database.initialize());
  afterAll(async () => {
    await withDatabase((db) => db.query('DELETE FROM user_token_cutoff WHERE user_id = ANY($1)', [users]));
    await database.destroy();
  });

  it('raises a cut-off and never moves it back', async () => {
    const user = newUser();
    expect(await cutoffs.raise(user, 1_800_000_100)).toBe(1_800_000_100);
    expect(await cutoffs.raise(user, 1_800_000_000)).toBe(1_800_000_100);
    expect(await cutoffs.raise(user, 1_800_000_200)).toBe(1_800_000_200);
  });

  it('lists only what changed after a moment, by the database clock', async () => {
    const before = newUser();
    await cutoffs.raise(before, 1_800_000_000);
    // A Date holds milliseconds and now() microseconds: a change within the same millisecond as the
    // moment reads as after it (listed again, which costs a sync nothing). Keep them apart here.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [{ now }] = await database.query<Array<{ now: Date }>>('SELECT now() AS now');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = newUser();
    await cutoffs.raise(after, 1_800_000_300);
    const changed = (await cutoffs.changedSince(now)).filter((row) => users.includes(row.userId));
    expect(changed.map(({ userId, cutoff }) => ({ userId, cutoff }))).toEqual([
      { userId: after, cutoff: 1_800_000_300 },
    ]);
    const all = (await cutoffs.changedSince(null)).map(({ userId }) => userId);
    expect(all).toEqual(expect.arrayContaining([before, after]));
  });

  it('prunes cut-offs older than a moment, and only those', async () => {
    const old = newUser();
    const recent = newUser();
    await cutoffs.raise(old, 1_000_000_000);
    await cutoffs.raise(recent, 1_900_000_000);
    expect(await cutoffs.prune(new Date(1_500_000_000_000))).toBeGreaterThanOrEqual(1);
    const left = (await cutoffs.changedSince(null)).map(({ userId }) => userId);
    expect(left).toContain(recent);
    expect(left).not.toContain(old);
  });
});
