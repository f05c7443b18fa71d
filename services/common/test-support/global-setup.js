'use strict';
/**
 * Jest globalSetup: before any test file runs, check that the local MariaDB and Kafka answer, so a run
 * without infrastructure fails in seconds with one clear message instead of every integration test
 * timing out on its own. Set ESHOP_SKIP_INFRA_CHECK=1 to run unit tests without the stack.
 */
const net = require('node:net');
const { loadStackEnv, defaultFile } = require('./load-stack-env');

const HINT = 'infrastructure not running: start it with ./local/platform.sh infra';
const TIMEOUT_MS = 3000;

function tcpConnect(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer within ${TIMEOUT_MS} ms`));
    });
    socket.once('error', reject);
  });
}

async function checkMariaDb({ host, port, user, password }) {
  await tcpConnect(host, port);
  const mysql = require('mysql2/promise');
  const connection = await mysql.createConnection({ host, port, user, password, connectTimeout: TIMEOUT_MS });
  try {
    await connection.query('SELECT 1');
  } finally {
    await connection.end();
  }
}

async function checkKafka(brokers) {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'eshop-jest-global-setup',
    brokers,
    connectionTimeout: TIMEOUT_MS,
    requestTimeout: 5000,
    retry: { retries: 1, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

/** The distinct databases servers the services are configured for (product and order may share one). */
function databaseTargets(env) {
  const targets = new Map();
  for (const prefix of ['PRODUCT_DB', 'ORDER_DB']) {
    const host = env[`${prefix}_HOST`];
    if (!host) continue;
    const target = {
      host,
      port: Number(env[`${prefix}_PORT`] || 3306),
      user: env[`${prefix}_USER`],
      password: env[`${prefix}_PASSWORD`],
    };
    targets.set(`${target.host}:${target.port}:${target.user}:${target.password}`, target);
  }
  return [...targets.values()];
}

module.exports = async function globalSetup() {
  const file = loadStackEnv();
  if (process.env.ESHOP_SKIP_INFRA_CHECK === '1') return;

  const env = process.env;
  const brokers = (env.KAFKA_BROKERS || '').split(',').map((b) => b.trim()).filter(Boolean);
  const databases = databaseTargets(env);
  if (databases.length === 0 || brokers.length === 0) {
    throw new Error(`${HINT} (no ${file ? 'database or broker settings in ' + file : defaultFile}, and PRODUCT_DB_HOST / KAFKA_BROKERS are not set)`);
  }

  const checks = [
    ...databases.map((db) => ({ what: `MariaDB ${db.host}:${db.port} as ${db.user}`, run: () => checkMariaDb(db) })),
    { what: `Kafka ${brokers.join(',')}`, run: () => checkKafka(brokers) },
  ];
  const results = await Promise.allSettled(checks.map((check) => check.run()));
  const failures = results
    .map((result, i) => (result.status === 'rejected' ? `  - ${checks[i].what}: ${result.reason && (result.reason.message || result.reason.code || result.reason)}` : null))
    .filter(Boolean);
  if (failures.length > 0) {
    throw new Error(`${HINT}\n${failures.join('\n')}`);
  }
};
