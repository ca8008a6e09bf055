// Integration tests: `*.int-spec.ts`, against the real Postgres, Redis and RabbitMQ on this machine.
module.exports = {
  ...require('./jest.base'),
  testRegex: '\\.int-spec\\.ts$',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 30_000,
};
