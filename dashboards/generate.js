#!/usr/bin/env node
'use strict';
// Entry point of `npm run dashboards`: TypeScript loaded through @swc/core, as in jest.
require('../test/k8s/support/register-ts');
require('./src/generate.ts');
