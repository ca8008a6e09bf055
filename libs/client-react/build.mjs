// Builds the package into dist/: ESM and CJS with @notify/client and React left to the app, and
// the .d.ts types (against @notify/client's, so build that first). `npm pack` runs it (prepack).
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
  external: ['@notify/client', 'react'],
  target: 'es2020',
  sourcemap: true,
  logLevel: 'warning',
};

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(here, '../client/build.mjs')], { stdio: 'inherit' });
await build({ ...common, format: 'esm', outfile: join(dist, 'index.mjs') });
await build({ ...common, format: 'cjs', outfile: join(dist, 'index.cjs') });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.build.json')], { stdio: 'inherit' });
