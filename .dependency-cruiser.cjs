/**
 * The import rules the README states, checked by `npm run lint` (dependency-cruiser):
 * libraries never import apps, apps never import each other, `libs/contracts` imports nothing (so
 * the browser SDK can use it without growing), a library is reached through its `index.ts` only,
 * production code never imports test code, and no module imports one that leads back to it.
 * `npm run lint:graph` draws the gateway's graph (dependency-cruiser's dot output).
 */
const SPEC = '\\.(spec|int-spec|e2e-spec|faults-spec)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A module must not import one that leads back to it: the import graph stays a tree of layers.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'libs-not-to-apps',
      comment: 'Libraries are shared by the apps; they never reach into one.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-not-to-other-apps',
      comment: 'Apps are wiring; what two apps share lives in libs/. (Tests that start both apps live in test/.)',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'contracts-import-nothing',
      comment: 'libs/contracts is the wire format: no runtime dependency, so the browser SDK bundles it for free.',
      severity: 'error',
      from: { path: '^libs/contracts/', pathNot: SPEC },
      to: { pathNot: '^libs/contracts/' },
    },
    {
      name: 'libs-through-their-index',
      comment: 'A library is used through its small public index.ts (@app/<name>), never a file inside it.',
      severity: 'error',
      from: { path: '^(apps|test|bench)/' },
      to: { path: '^libs/[^/]+/src/(?!index\\.ts$)' },
    },
    {
      name: 'libs-through-each-others-index',
      comment: 'Between libraries too: only the index.ts of another library.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/(?!index\\.ts$)', pathNot: '^libs/$1/' },
    },
    {
      name: 'production-not-to-test',
      comment: 'Shipped code never imports test support.',
      severity: 'error',
      from: { path: '^(apps|libs)/', pathNot: SPEC },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|libs/client/dist|libs/client-react/dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
