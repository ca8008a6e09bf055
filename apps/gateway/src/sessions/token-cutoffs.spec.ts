import type { SessionsConfig } from '@app/config';
import type { TokenCutoff, TokenCutoffRepository } from '@app/persistence';
import { TokenCutoffs } from './token-cutoffs';

/** A repository in memory, with the database's rules: a cut-off never moves back. */
class CutoffsInMemory {
  rows = new Map<string, TokenCutoff>();
  failing = false;
  raise(userId: string, cutoff: number): Promise<number> {
    const kept = Math.max(cutoff, this.rows.get(userId)?.cutoff ?? 0);
    this.rows.set(userId, { userId, cutoff: kept, updatedAt: new Date() });
    return Promise.resolve(kept);
  }
  changedSince(since: Date | null): Promise<TokenCutoff[]> {
    if (this.failing) return Promise.reject(new Error('down'));
    return Promise.resolve([...this.rows.values()].filter((row) => !since || row.updatedAt > since));
  }
  prune(): Promise<number> {
    return Promise.resolve(0);
  }
}

describe('TokenCutoffs', () => {
  const config = { TOKEN_CUTOFF_SYNC_SECONDS: 10, TOKEN_CUTOFF_RETENTION_DAYS: 30 } as SessionsConfig;
  let repository: CutoffsInMemory;
  let cutoffs: TokenCutoffs;

  beforeEach(async () => {
    repository = new CutoffsInMemory();
    await repository.raise('preloaded', 2_000_000_000);
    cutoffs = new TokenCutoffs(repository as unknown as TokenCutoffRepository, config);
    await cutoffs.onModuleInit();
  });
  afterEach(() => cutoffs.onModuleDestroy());

  it('loads the stored cut-offs at start', () => {
    expect(cutoffs.isRevoked('preloaded', 1_999_999_999)).toBe(true);
    expect(cutoffs.isRevoked('preloaded', 2_000_000_000)).toBe(false);
    expect(cutoffs.isRevoked('someone-else', 1)).toBe(false);
  });

  it('refuses a token without iat only for a user with a cut-off', () => {
    expect(cutoffs.isRevoked('preloaded', undefined)).toBe(true);
    expect(cutoffs.isRevoked('someone-else', undefined)).toBe(false);
  });

  it("revokes every token issued up to now, this second's included, and none issued in the next", async () => {
    const before = Math.floor(Date.now() / 1000);
    const cutoff = await cutoffs.revoke('u1');
    const after = Math.floor(Date.now() / 1000);
    expect(cutoff).toBeGreaterThanOrEqual(before + 1);
    expect(cutoff).toBeLessThanOrEqual(after + 1);
    expect(cutoffs.isRevoked('u1', after)).toBe(true);
    expect(cutoffs.isRevoked('u1', cutoff)).toBe(false);
    expect(repository.rows.get('u1')?.cutoff).toBe(cutoff);
  });

  it('never moves a learned cut-off back', () => {
    cutoffs.learn('u2', 1_900_000_000);
    cutoffs.learn('u2', 1_800_000_000);
    expect(cutoffs.isRevoked('u2', 1_850_000_000)).toBe(true);
  });

  it('does not start when the cut-offs cannot be read', async () => {
    repository.failing = true;
    const blind = new TokenCutoffs(repository as unknown as TokenCutoffRepository, config);
    await expect(blind.onModuleInit()).rejects.toThrow('down');
    blind.onModuleDestroy();
  });
});
