/** One jest run for every workspace: unit tests, and integration tests against the local MariaDB and Kafka. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services', '<rootDir>/cdk8s', '<rootDir>/test', '<rootDir>/dashboards'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  moduleNameMapper: {
    '^@eshop/common$': '<rootDir>/services/common/src/index.ts',
    '^@eshop/test-support$': '<rootDir>/services/common/test-support/index.ts',
  },
  setupFiles: ['<rootDir>/services/common/test-support/load-stack-env.js'],
  globalSetup: '<rootDir>/services/common/test-support/global-setup.js',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
