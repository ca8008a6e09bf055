import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const libs = join(__dirname, '../../libs');
const repoModules = join(__dirname, '../../node_modules');
const tsc = require.resolve('typescript/bin/tsc');

/**
 * The SDK and its React bindings as a frontend team gets them: `npm pack`ed, installed from the
 * tarballs into a scratch project (offline: no dependency; React, a peer, is the repo's own),
 * imported as ESM and as CJS, and type-checked by tsc.
 */
describe('the @notify/client and @notify/react packages', () => {
  let scratch: string;
  let files: string[];
  let reactFiles: string[];

  const run = (command: string, args: string[], cwd = scratch) =>
    execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (name: string, text: string) => writeFileSync(join(scratch, name), text);

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sdk-package-'));
    const pack = (dir: string) =>
      (
        JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], join(libs, dir))) as Array<{
          filename: string;
          files: Array<{ path: string }>;
        }>
      )[0];
    const [client, react] = [pack('client'), pack('client-react')];
    files = client.files.map((file) => file.path);
    reactFiles = react.files.map((file) => file.path);
    write('package.json', JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    const tarballs = [client, react].map((packed) => join(scratch, packed.filename));
    run('npm', ['install', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', ...tarballs]);
  }, 180_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('holds the builds, the types and the changelog, and no sources or tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'CHANGELOG.md',
        'dist/index.mjs',
        'dist/index.cjs',
        'dist/notification-client.global.js',
        'dist/types/index.d.ts',
      ]),
    );
    expect(files.filter((file) => file.startsWith('src/') || file.includes('.spec.'))).toEqual([]);
    const installed = JSON.parse(readFileSync(join(scratch, 'node_modules/@notify/client/package.json'), 'utf8'));
    expect(installed.dependencies).toBeUndefined();
    expect(readdirSync(join(scratch, 'node_modules'))).toEqual(['.package-lock.json', '@notify']);
    expect(reactFiles).toEqual(expect.arrayContaining(['dist/index.mjs', 'dist/index.cjs', 'dist/types/index.d.ts']));
    expect(reactFiles.filter((file) => file.startsWith('src/'))).toEqual([]);
  });

  it.each([
    ['ESM', 'check.mjs', "import { NotificationClient, CloseCode } from '@notify/client';"],
    ['CJS', 'check.cjs', "const { NotificationClient, CloseCode } = require('@notify/client');"],
  ])('imports as %s and makes a working client', (_, name, importLine) => {
    write(
      name,
      `${importLine}
class FakeSocket { constructor(url) { FakeSocket.url = url; } send() {} close() {} }
const client = new NotificationClient({ url: 'ws://h/ws/', token: 't', since: 3, WebSocket: FakeSocket, environment: {} });
client.connect().catch(() => {});
setTimeout(() => { console.log(JSON.stringify([client.state, FakeSocket.url, CloseCode.DisconnectedByServer])); process.exit(0); }, 10);
`,
    );
    expect(JSON.parse(run(process.execPath, [name]))).toEqual(['connecting', 'ws://h/ws/?since=3', 4003]);
  });

  it.each([
    ['ESM', 'esm', 'check.mts'],
    ['CJS', 'cjs', 'check.cts'],
  ])('type-checks for %s consumers (module nodenext), with the event map and the message type', (_, dir, name) => {
    mkdirSync(join(scratch, dir), { recursive: true });
    write(
      `${dir}/${name}`,
      `import { NotificationClient } from '@notify/client';
import type { ConnectionState, NotificationClientEvents, StateChange } from '@notify/client';
const client = new NotificationClient<{ text: string }>({ url: 'ws://h/', token: () => 't' });
client.on('notification', (n) => n.message.text.toUpperCase());
client.on('state', (change: StateChange) => change.current satisfies ConnectionState);
const read: NotificationClientEvents['read'] = { ids: [1], all: false, unread_count: 0 };
export const ok: number = read.unread_count;
// @ts-expect-error: the message type is checked
client.on('notification', (n) => n.message.missing);
// @ts-expect-error: so are event names
client.on('no-such-event', () => undefined);
`,
    );
    write(
      `${dir}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, types: [], lib: ['es2022'] },
        files: [name],
      }),
    );
    expect(run(process.execPath, [tsc, '-p', join(scratch, dir)])).toBe('');
  });

  it('type-checks a React app using the bindings, and loads them as ESM and CJS', () => {
    for (const name of ['react', '@types/react']) {
      mkdirSync(join(scratch, 'node_modules', name, '..'), { recursive: true });
      symlinkSync(join(repoModules, name), join(scratch, 'node_modules', name));
    }
    mkdirSync(join(scratch, 'app'), { recursive: true });
    write(
      'app/bell.mts',
      `import { NotificationProvider, useConnectionState, useNotifications, useUnreadCount } from '@notify/react';
import { createElement } from 'react';
export function Bell() {
  const unread: number | undefined = useUnreadCount();
  const state = useConnectionState();
  const { notifications } = useNotifications<{ text: string }>({ limit: 5 });
  return createElement('p', null, state, unread, notifications.map((n) => n.message.text).join());
}
export const app = createElement(NotificationProvider, { options: { url: '/ws/', token: 't' } }, createElement(Bell));
// @ts-expect-error: the provider needs a client or its options
createElement(NotificationProvider, {});
`,
    );
    write(
      'app/tsconfig.json',
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, types: [], lib: ['es2022'] },
        files: ['bell.mts'],
      }),
    );
    expect(run(process.execPath, [tsc, '-p', join(scratch, 'app')])).toBe('');
    write('react-check.mjs', "import * as r from '@notify/react'; console.log(Object.keys(r).sort().join());");
    write('react-check.cjs', "console.log(Object.keys(require('@notify/react')).sort().join());");
    const exported =
      'NotificationProvider,useConnectionState,useNotificationClient,useNotificationContext,useNotifications,useUnreadCount';
    expect(run(process.execPath, ['react-check.mjs']).trim()).toBe(exported);
    expect(run(process.execPath, ['react-check.cjs']).trim()).toBe(exported);
  });
});
