#!/usr/bin/env node
'use strict';
/**
 * npm run reliability: runs the fault-injection suites with RELIABILITY_REPORT_DIR set (each scenario writes
 * its observations there as JSON), then regenerates the figures section of docs/reliability.md from them.
 * Needs the local infrastructure (./local/platform.sh infra), like npm test.
 *
 *   npm run reliability                          run the suites, then render
 *   npm run reliability -- --render-only DIR     render from the JSON files of an earlier run
 *
 * The document is left untouched unless every suite passed.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..');
const DOC = path.join(repoRoot, 'docs', 'reliability.md');
/** One suite per scenario of issue 6 (a … f). */
const SUITES = [
  'services/order/test/consumer-crash.test.ts',
  'services/order/test/product-crash.test.ts',
  'services/order/test/api-crash.test.ts',
  'services/order/test/broker-restart.test.ts',
  'services/order/test/order-db-restart.test.ts',
  'test/faults/slow-product-breaker.test.ts',
];

function runSuites(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--runInBand', ...SUITES], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      RELIABILITY_REPORT_DIR: dir,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, '--disable-warning=TimeoutNegativeWarning'].filter(Boolean).join(' '),
    },
  });
  if (jest.status !== 0) {
    console.error(`reliability: a fault suite failed (exit ${jest.status ?? jest.signal}); ${path.relative(repoRoot, DOC)} left as it was`);
    process.exit(jest.status || 1);
  }
}

function render(dir) {
  require('../k8s/support/register-ts');
  const { renderFigures, replaceFigures } = require('./render-reliability.ts');
  const reports = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  fs.writeFileSync(DOC, replaceFigures(fs.readFileSync(DOC, 'utf8'), renderFigures(reports)));
  console.log(`reliability: ${path.relative(repoRoot, DOC)} regenerated from ${reports.length} reports in ${path.relative(repoRoot, dir)}`);
}

const args = process.argv.slice(2);
if (args[0] === '--render-only') {
  if (!args[1]) throw new Error('--render-only needs the folder of an earlier run');
  render(path.resolve(args[1]));
} else {
  const dir = path.join(repoRoot, '.local', 'reliability', new Date().toISOString().replace(/[:.]/g, '-'));
  runSuites(dir);
  render(dir);
}
