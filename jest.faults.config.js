// Fault suite: `test/faults/*.faults-spec.ts` start the built apps as processes (run `npm run build`
// first) and restart the shared Postgres, Redis and RabbitMQ for real (root, a machine of its own).
module.exports = {
  ...require('./jest.base'),
  roots: ['<rootDir>/test/faults'],
  testRegex: '\\.faults-spec\\.ts$',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 240_000,
};
