'use strict';
/**
 * Jest setupFile (also used by global-setup.js): copies the settings that `local/platform.sh infra`
 * writes to .local/stack.env into process.env, so tests find the local MariaDB and Kafka without any
 * shell sourcing. Variables already set in the environment win, so CI or a developer can point a run
 * at other infrastructure. ESHOP_STACK_ENV names another file (for example a second stack).
 */
const fs = require('node:fs');
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const defaultFile = path.join(repoRoot, '.local', 'stack.env');

/** Parses the `export NAME='value'` lines platform.sh writes (single-quoted, shell style). */
function parseStackEnv(text) {
  const values = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    values[match[1]] = unquote(match[2]);
  }
  return values;
}

function unquote(value) {
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
    // A single quote inside single quotes is written as '\'' by the shell.
    return value.slice(1, -1).replace(/'\\''/g, "'");
  }
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    return value.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
  }
  return value;
}

/** Loads the stack file into process.env without overriding existing variables; returns the file used or null. */
function loadStackEnv(file = process.env.ESHOP_STACK_ENV || defaultFile) {
  if (!fs.existsSync(file)) return null;
  const values = parseStackEnv(fs.readFileSync(file, 'utf8'));
  for (const [name, value] of Object.entries(values)) {
    if (process.env[name] === undefined) process.env[name] = value;
  }
  return file;
}

loadStackEnv();

module.exports = { loadStackEnv, parseStackEnv, defaultFile };
