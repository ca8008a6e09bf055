// Builds the package into dist/: ESM and CJS (for bundlers and Node), the IIFE for <script> tags
// (global NotifyClient), and the .d.ts types. `npm pack` runs it (prepack).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const here = import.meta.dirname;
const dist = join(here, 'dist');
const common = {
  entryPoints: [join(here, 'src/index.ts')],
  bundle: true,
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
};

rmSync(dist, { recursive: true, force: true });
await build({ ...common, format: 'esm', outfile: join(dist, 'index.mjs') });
await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs') });
await build({
  ...common,
  format: 'iife',
  globalName: 'NotifyClient',
  minify: true,
  outfile: join(dist, 'notification-client.global.js'),
});
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
