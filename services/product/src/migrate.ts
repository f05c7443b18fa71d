import { runMigrationJob } from '@eshop/common';
import { loadMigrationConfig } from './config';
import { productMigrations } from './data/migrations';

runMigrationJob('product-migrate', () => loadMigrationConfig(), productMigrations);
