#!/usr/bin/env node
'use strict';
// Entry point of `npm run k8s:check` (see check.ts): TypeScript loaded through @swc/core, as in jest.
require('./support/register-ts');
require('./check.ts');
