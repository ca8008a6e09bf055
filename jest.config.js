// Unit tests: `*.spec.ts` beside the code; no services needed.
module.exports = { ...require('./jest.base'), testRegex: '\\.spec\\.ts$' };
