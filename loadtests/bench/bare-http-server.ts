/**
 * The reference ceiling for HTTP: a bare node:http server answering every request with a small JSON
 * body (the size of a product), no framework, no I/O. Started by the benchmark as its own process;
 * reports its port over IPC and exits when the parent disconnects.
 */
import http from 'node:http';

const body = JSON.stringify({
  id: 42,
  name: 'Espresso machine',
  description: 'Dual boiler, rotary pump',
  price: '1299.00',
  stock: 17,
  version: 3,
});

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('disconnect', () => process.exit(0));
