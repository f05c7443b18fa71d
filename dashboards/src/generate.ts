import path from 'node:path';
import { writeAll } from './index';

// `npm run dashboards`: (re)writes charts/eshop-platform/files/dashboards/*.json from the TypeScript sources.
for (const file of writeAll()) console.log(path.relative(process.cwd(), file));
