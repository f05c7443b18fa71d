import { commonVariables, tracingVariables, identitySecretVariable, databaseVariables, env, kafkaVariables, loadConfig, type ConfigOf } from '@eshop/common';

const database = databaseVariables('PRODUCT', 'product_db');

/** Every setting of the product service: env var, default and meaning (docs/configuration.md is generated from it). */
export const productConfigDefinition = {
  port: env.port('PRODUCT_SERVICE_PORT', { doc: 'HTTP port of the product and inventory API.', default: 8081 }),
  ...database,
  ...kafkaVariables('product-service'),
  productTopic: env.string('KAFKA_PRODUCT_TOPIC', {
    doc: 'Topic that receives product.* events (catalogue changes and stock reservations).',
    default: 'product-events',
  }),
  requireIfMatch: env.boolean('PRODUCT_REQUIRE_IF_MATCH', {
    doc: 'Reject PUT and DELETE on a product without an If-Match header (428), forcing clients to prove they saw the current version.',
    default: false,
  }),
  identitySecret: identitySecretVariable,
  ...commonVariables,
  ...tracingVariables('product-service'),
};

export type ProductConfig = ConfigOf<typeof productConfigDefinition>;

/** The subset the migration job needs: no Kafka, no HTTP. */
export const migrationConfigDefinition = {
  ...database,
  logLevel: commonVariables.logLevel,
};

export type MigrationConfig = ConfigOf<typeof migrationConfigDefinition>;

export function loadProductConfig(source: NodeJS.ProcessEnv = process.env): ProductConfig {
  return loadConfig(productConfigDefinition, source);
}

export function loadMigrationConfig(source: NodeJS.ProcessEnv = process.env): MigrationConfig {
  return loadConfig(migrationConfigDefinition, source);
}


