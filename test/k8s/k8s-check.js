#!/usr/bin/env node
'use strict';
// Entry point of `npm run k8s:check` (see check.ts; `-- --help`): TypeScript loaded through @swc/core, as in jest.
// It needs the local Kubernetes control plane (local/cluster.sh) and starts it when it does not answer.
require('./support/register-ts');
require('./check.ts');
