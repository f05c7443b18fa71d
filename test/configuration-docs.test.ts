/**
 * docs/configuration.md carries one generated table per process, made from the same definitions the
 * processes validate at start, so the documentation cannot drift from the code.
 * Regenerate with: npm run docs:config
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeConfig, type ConfigDefinition } from '@eshop/common';
import { gatewayConfigDefinition } from '../services/gateway/src/config';
import {
  consumerConfigDefinition,
  migrationConfigDefinition as orderMigrationConfigDefinition,
  orderConfigDefinition,
  replayConfigDefinition,
} from '../services/order/src/config';
import {
  migrationConfigDefinition as productMigrationConfigDefinition,
  productConfigDefinition,
} from '../services/product/src/config';

const DOC = path.join(__dirname, '..', 'docs', 'configuration.md');

const sections: Record<string, ConfigDefinition> = {
  gateway: gatewayConfigDefinition,
  product: productConfigDefinition,
  'product-migrate': productMigrationConfigDefinition,
  order: orderConfigDefinition,
  'order-consumer': consumerConfigDefinition,
  'order-migrate': orderMigrationConfigDefinition,
  'order-replay-dlq': replayConfigDefinition,
};

function block(name: string, definition: ConfigDefinition): string {
  return `<!-- BEGIN GENERATED: ${name} -->\n${describeConfig(definition)}\n<!-- END GENERATED: ${name} -->`;
}

function render(current: string): string {
  let out = current;
  for (const [name, definition] of Object.entries(sections)) {
    const pattern = new RegExp(`<!-- BEGIN GENERATED: ${name} -->[\\s\\S]*?<!-- END GENERATED: ${name} -->`);
    if (!pattern.test(out)) throw new Error(`docs/configuration.md has no generated block for ${name}`);
    out = out.replace(pattern, () => block(name, definition));
  }
  return out;
}

describe('docs/configuration.md', () => {
  it('documents every environment variable of every process with its current default', () => {
    const current = readFileSync(DOC, 'utf8');
    const expected = render(current);
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
    else expect(current).toBe(expected);
  });

  it('keeps the variable names the platform has always used', () => {
    const names = new Set(Object.values(sections).flatMap((d) => Object.values(d).map((v) => v.env)));
    for (const name of [
      'API_GATEWAY_PORT',
      'PRODUCT_SERVICE_PORT',
      'PRODUCT_DB_HOST',
      'PRODUCT_DB_PORT',
      'PRODUCT_DB_USER',
      'PRODUCT_DB_PASSWORD',
      'PRODUCT_DB_NAME',
      'ORDER_DB_HOST',
      'ORDER_DB_PORT',
      'ORDER_DB_USER',
      'ORDER_DB_PASSWORD',
      'ORDER_DB_NAME',
      'KAFKA_BROKERS',
      'KAFKA_PRODUCT_TOPIC',
      'KAFKA_ORDER_TOPIC',
    ]) {
      expect(names).toContain(name);
    }
  });
});
