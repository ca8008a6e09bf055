import { Logger } from '@nestjs/common';
import { parseAppConfig } from '@app/config';
import { LamportClock } from '../celery-node/lamport-clock';
import { TaskActivity } from '../celery-node/task-activity';
import type { CeleryEventDispatcher } from '../events/celery-event-dispatcher';
import { ControlCommands } from './control-commands';
import type { RevokedTasks } from './revoked-tasks';

describe('ControlCommands', () => {
  beforeAll(() => Logger.overrideLogger(false));
  function setUp(env: Record<string, string> = {}) {
    const config = parseAppConfig({ AMQP_URL: 'amqp://svc:s3cret@broker:5672/prod', ...env });
    const revoke = jest.fn().mockResolvedValue(undefined);
    const shutdown = jest.fn();
    let taskEvents = false;
    const events = {
      enableTaskEvents: () => !taskEvents && (taskEvents = true),
      disableTaskEvents: () => taskEvents && !(taskEvents = false),
      get sendsTaskEvents() {
        return taskEvents;
      },
    };
    const commands = new ControlCommands(
      new TaskActivity(config),
      { revoke, list: () => [] } as unknown as RevokedTasks,
      events as unknown as CeleryEventDispatcher,
      new LamportClock(),
      config,
      shutdown,
    );
    return { commands, revoke, shutdown };
  }

  it('answers ping with pong', async () => {
    expect(await setUp().commands.run('ping', {})).toEqual({ ok: 'pong' });
  });

  it('revokes one id or a list, and treats terminate as a revoke', async () => {
    const { commands, revoke } = setUp();
    expect(await commands.run('revoke', { task_id: 'a' })).toEqual({ ok: 'tasks a flagged as revoked' });
    expect(await commands.run('revoke', { task_id: ['b', 'c'], terminate: true })).toEqual({
      ok: 'tasks b, c flagged as revoked',
    });
    expect(await commands.run('terminate', { task_id: 'd', signal: 'SIGKILL' })).toEqual({
      ok: 'tasks d flagged as revoked',
    });
    expect(revoke.mock.calls).toEqual([[['a']], [['b', 'c']], [['d']]]);
  });

  it('answers a revoke with no usable id with an error and stores nothing', async () => {
    const { commands, revoke } = setUp();
    expect(await commands.run('revoke', { task_id: 42 })).toEqual({ error: expect.stringContaining('task_id') });
    expect(await commands.run('revoke', {})).toEqual({ error: expect.stringContaining('task_id') });
    expect(revoke).not.toHaveBeenCalled();
  });

  it('refuses shutdown by default, and asks for one when CELERY_CONTROL_ALLOW_SHUTDOWN is on', async () => {
    const refused = setUp();
    expect(await refused.commands.run('shutdown', {})).toEqual({ error: expect.stringContaining('refused') });
    expect(refused.shutdown).not.toHaveBeenCalled();
    const allowed = setUp({ CELERY_CONTROL_ALLOW_SHUTDOWN: 'true' });
    expect(await allowed.commands.run('shutdown', {})).toEqual({ ok: 'shutting down' });
    expect(allowed.shutdown).toHaveBeenCalledTimes(1);
  });

  it('switches task events as Celery words it', async () => {
    const { commands } = setUp();
    expect(await commands.run('enable_events', {})).toEqual({ ok: 'task events enabled' });
    expect(await commands.run('enable_events', {})).toEqual({ ok: 'task events already enabled' });
    expect(await commands.run('disable_events', {})).toEqual({ ok: 'task events disabled' });
    expect(await commands.run('disable_events', {})).toEqual({ ok: 'task events already disabled' });
  });

  it('never shows the broker password in conf or stats', async () => {
    const { commands } = setUp();
    const text = JSON.stringify([await commands.run('conf', {}), await commands.run('stats', {})]);
    expect(text).not.toContain('s3cret');
    expect(text).toContain('amqp://svc:**@broker:5672/prod');
  });

  it('answers an unknown command, or an inherited property name, with an error', async () => {
    const { commands } = setUp();
    expect(await commands.run('pool_grow', {})).toEqual({ error: 'No such command: pool_grow' });
    expect(await commands.run('constructor', {})).toEqual({ error: 'No such command: constructor' });
  });
});
