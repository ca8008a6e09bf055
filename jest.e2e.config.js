// End-to-end tests: `test/e2e/*.e2e-spec.ts` start the built apps as processes (run `npm run build` first).
module.exports = {
  ...require('./jest.base'),
  roots: ['<rootDir>/test'],
  testRegex: '\\.e2e-spec\\.ts$',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 60_000,
};
