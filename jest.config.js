/** One jest run for every workspace: unit tests, and integration tests against the local MariaDB and Kafka. */
const ESM_ONLY = '(jose|@kubernetes/client-node|openid-client|oauth4webapi|socks-proxy-agent|agent-base)';

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/services', '<rootDir>/cdk8s', '<rootDir>/test', '<rootDir>/dashboards', '<rootDir>/loadtests'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest'],
    // ES-module-only packages (jose; @kubernetes/client-node 2.x and its ESM-only dependencies): Node 24
    // require()s them natively, but jest's module loader does so only under --experimental-vm-modules, so
    // they are compiled to CommonJS like the sources.
    [`/node_modules/${ESM_ONLY}/.+\\.js$`]: ['@swc/jest'],
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY}/)`],
  moduleNameMapper: {
    '^@eshop/common$': '<rootDir>/services/common/src/index.ts',
    '^@eshop/common/tracing$': '<rootDir>/services/common/src/tracing.ts',
    '^@eshop/test-support$': '<rootDir>/services/common/test-support/index.ts',
    // k6 modules exist only inside k6: loadtests/k6 tests read the scripts' options against this stub.
    '^k6(/.*)?$': '<rootDir>/loadtests/k6/test/k6-stub.ts',
  },
  setupFiles: ['<rootDir>/services/common/test-support/load-stack-env.js'],
  globalSetup: '<rootDir>/services/common/test-support/global-setup.js',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
