// A stand-in service for the local node agent's tests: serves /readyz on PORT and follows its env.
//   READY_DELAY_MS  /readyz answers 503 until this long after start (default 0)
//   READY_FILE      and, when set, only while this file exists
//   TERM_DELAY_MS   on SIGTERM, wait this long, then exit 0 (default 0)
//   IGNORE_SIGTERM  "1": log SIGTERM and keep running
//   CRASH_AFTER_MS  exit 3 this long after start
const { existsSync } = require('node:fs');
const http = require('node:http');

const env = process.env;
const num = (name) => Number(env[name] ?? 0);
const log = (event, fields = {}) => console.log(JSON.stringify({ time: new Date().toISOString(), pid: process.pid, event, ...fields }));
const started = Date.now();

log('env', { names: Object.keys(env).sort() });
const server = http.createServer((req, res) => {
  const ready = Date.now() - started >= num('READY_DELAY_MS') && (!env.READY_FILE || existsSync(env.READY_FILE));
  res.writeHead(req.url === '/readyz' ? (ready ? 200 : 503) : 404).end();
});
server.listen(Number(env.PORT), '127.0.0.1', () => log('listening', { port: Number(env.PORT) }));

process.on('SIGTERM', () => {
  log('SIGTERM');
  if (env.IGNORE_SIGTERM === '1') return;
  setTimeout(() => { log('exit', { code: 0 }); process.exit(0); }, num('TERM_DELAY_MS'));
});
if (env.CRASH_AFTER_MS) setTimeout(() => { log('crash', { code: 3 }); process.exit(3); }, num('CRASH_AFTER_MS'));
