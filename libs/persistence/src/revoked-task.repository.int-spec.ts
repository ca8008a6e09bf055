import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { testConfig } from '@test/support/test-context';
import { dataSourceOptions } from './data-source-options';
import { DeferredTaskRepository } from './deferred-task.repository';
import { RevokedTaskRepository } from './revoked-task.repository';

describe('RevokedTaskRepository (real Postgres)', () => {
  const config = testConfig();
  const database = new DataSource(dataSourceOptions(config.DATABASE_URL, 2));
  const revoked = new RevokedTaskRepository(database);
  const hour = 3600_000;
  const expiryOf = async (taskId: string) =>
    (await revoked.readSince(null)).revoked.find((row) => row.taskId === taskId)?.expiresAt;

  beforeAll(() => database.initialize());
  afterAll(() => database.destroy());

  it('stores revokes, reads them back, and reads only the newer ones since a read', async () => {
    const first = randomUUID();
    await revoked.revoke([first], new Date(Date.now() + hour), 3600);
    const { revoked: all, readAt } = await revoked.readSince(null);
    expect(all.map((row) => row.taskId)).toContain(first);

    const second = randomUUID();
    await revoked.revoke([second], new Date(Date.now() + hour), 3600);
    const since = (await revoked.readSince(readAt)).revoked.map((row) => row.taskId);
    expect(since).toContain(second);
    expect(since).not.toContain(first);
  });

  it('never shortens a revoke, and holds one past the eta of a deferred task by that id', async () => {
    const taskId = randomUUID();
    await revoked.revoke([taskId], new Date(Date.now() + 2 * hour), 3600);
    await revoked.revoke([taskId], new Date(Date.now() + hour), 3600);
    expect((await expiryOf(taskId))!.getTime()).toBeGreaterThan(Date.now() + 1.9 * hour);

    const deferredId = randomUUID();
    const eta = new Date(Date.now() + 48 * hour);
    await new DeferredTaskRepository(database).save({
      taskId: deferredId,
      taskName: 'send_notification_task',
      eta,
      expires: null,
      content: Buffer.from('{}'),
      properties: {},
    });
    await revoked.revoke([deferredId], new Date(Date.now() + hour), 3600);
    expect((await expiryOf(deferredId))!.getTime()).toBe(eta.getTime() + hour);
  });

  it('leaves expired revokes out of reads and deletes them', async () => {
    const taskId = randomUUID();
    await revoked.revoke([taskId], new Date(Date.now() - 1000), 0);
    expect(await expiryOf(taskId)).toBeUndefined();
    expect(await revoked.deleteExpired()).toBeGreaterThanOrEqual(1);
  });
});
