/**
 * The order service needs Node 24 (undici 8 does not load on Node 20). `./node_modules/.bin/jest` run
 * from a plain shell starts under the machine's `node` (20 here) through its `#!/usr/bin/env node`
 * line; fail with the fix instead of an obscure import error.
 */
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  throw new Error(
    `order service tests need Node 24 (the repo's \`node\` devDependency), but jest runs on ${process.version}: ` +
      'run `npx jest services/order` or `npm test` from the repo root (both put node_modules/.bin first in PATH)',
  );
}

export {};
