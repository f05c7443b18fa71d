'use strict';
/**
 * Lets plain `node` require TypeScript (test/k8s support code and cdk8s/src) the way jest does: @swc/core
 * compiles each .ts file to CommonJS on load. Used by test/k8s/k8s-check.js (`npm run k8s:check`).
 */
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = require('node:fs').readFileSync(filename, 'utf8');
  const { code } = transformSync(source, {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  });
  module._compile(code, filename);
};
