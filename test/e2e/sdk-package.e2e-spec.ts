import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const packageDir = join(__dirname, '../../libs/client');
const tsc = require.resolve('typescript/bin/tsc');

/**
 * The SDK as a frontend team gets it: `npm pack`ed, installed from the tarball into a scratch
 * project (offline: it has no dependency), imported as ESM and as CJS, and type-checked by tsc.
 */
describe('the @notify/client package', () => {
  let scratch: string;
  let files: string[];

  const run = (command: string, args: string[], cwd = scratch) =>
    execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (name: string, text: string) => writeFileSync(join(scratch, name), text);

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sdk-package-'));
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], packageDir)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    files = packed[0].files.map((file) => file.path);
    write('package.json', JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(scratch, packed[0].filename)]);
  }, 120_000);

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
});
