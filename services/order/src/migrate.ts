import { runMigrationJob } from '@eshop/common';
import { loadMigrationConfig } from './config';
import { orderMigrations } from './data/migrations';

runMigrationJob('order-migrate', () => loadMigrationConfig(), orderMigrations);
