/**
 * fast-check arbitraries driven by the OpenAPI document's JSON Schemas: values the document calls valid,
 * and near misses and hostile values to put in their place.
 */
import fc from 'fast-check';
import type { JsonSchema } from './openapi';

/** One seed for every property of the suites, so a failure reproduces (FUZZ_SEED=… overrides it). */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261125);

type Schema = JsonSchema & Record<string, unknown>;

function resolve(schema: Schema, document: object): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  let node: unknown = document;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Record<string, unknown>)[part];
  return resolve(node as Schema, document);
}

/** Strings kept short unless the schema needs them long: the point is shapes, not volume. */
const DEFAULT_MAX_STRING = 24;

/** A value valid by `schema` (JSON Schema 2020-12 as the document uses it). */
export function validValue(input: object, document: object): fc.Arbitrary<unknown> {
  const schema = resolve(input as Schema, document);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => validValue(alternative, document)));
  const type = schema.type;
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => validValue({ ...schema, type: t }, document)));
  switch (type) {
    case 'object':
      return objectValue(schema, document);
    case 'array': {
      const min = (schema.minItems as number | undefined) ?? 0;
      const max = Math.min((schema.maxItems as number | undefined) ?? 4, Math.max(min, 4));
      return fc.array(validValue((schema.items as object | undefined) ?? {}, document), { minLength: min, maxLength: max });
    }
    case 'string':
      return stringValue(schema);
    case 'integer':
      return fc.oneof(
        fc.integer({ min: (schema.minimum as number | undefined) ?? -1000, max: (schema.maximum as number | undefined) ?? 1000 }),
        ...[schema.minimum, schema.maximum].filter((b): b is number => typeof b === 'number').map((b) => fc.constant(b)),
      );
    case 'number':
      return fc.double({
        min: (schema.minimum as number | undefined) ?? -1e6,
        max: (schema.maximum as number | undefined) ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectValue(schema: Schema, document: object): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, object>;
  const required = (schema.required ?? []) as string[];
  const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, validValue(property, document)]));
  const record = fc.record(model, { requiredKeys: required });
  const minProperties = (schema.minProperties as number | undefined) ?? 0;
  return minProperties > 0 ? record.filter((value) => Object.keys(value).length >= minProperties) : record;
}

function stringValue(schema: Schema): fc.Arbitrary<string> {
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const fits = (s: string) => s.length >= minLength && s.length <= ((schema.maxLength as number | undefined) ?? Infinity);
  if (typeof schema.pattern === 'string') return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  const maxLength = (schema.maxLength as number | undefined) ?? Math.max(minLength, DEFAULT_MAX_STRING);
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    default:
      return fc.oneof(
        fc.string({ minLength, maxLength: Math.min(maxLength, DEFAULT_MAX_STRING), unit: 'grapheme' }),
        fc.constant('x'.repeat(maxLength)).filter(fits),
        fc.constant('x'.repeat(Math.max(minLength, 1))).filter(fits),
      );
  }
}

// ------------------------------------------------------------------------------------- hostile values

/** Strings that have broken parsers, queries and templates elsewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\t\r\n',
  "' OR '1'='1",
  "1; DROP TABLE products; --",
  '1 UNION SELECT password FROM mysql.user',
  '" OR ""="',
  '\\',
  '%',
  '_',
  '%00',
  '%27',
  '../../../etc/passwd',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '$where',
  '{"$gt":""}',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  '00000000000000000001',
  '9007199254740993',
  '18446744073709551616',
  '😀'.repeat(50),
  '\u202Eevil',
  'e\u0301',
  '\uFEFFname',
  '\u200B',
  '\uD800',
  'ÿ'.repeat(3),
  'A'.repeat(256),
  'A'.repeat(5000),
];

/** JSON values a validator must refuse where a scalar is expected: operators, prototypes, containers. */
export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  -0,
  0.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 63,
  [],
  {},
  [1],
  ['1'],
  [[1]],
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  JSON.parse('{"__proto__":{"isAdmin":true}}'),
  { constructor: { prototype: { isAdmin: true } } },
  { toString: 'x' },
  { valueOf: 1 },
];

/**
 * Near misses of a valid value: the same value in another type or form, padded, at and past a boundary,
 * wrapped, or swapped for something hostile.
 */
export function trickyValue(original: unknown): fc.Arbitrary<unknown> {
  const generic: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...HOSTILE_STRINGS),
    fc.constantFrom(...HOSTILE_VALUES),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constant([original]),
    fc.constant({ value: original }),
    fc.constant(undefined),
  ];
  if (typeof original === 'string') {
    const asNumber = Number(original);
    return fc.oneof(
      ...generic,
      fc.constantFrom(` ${original}`, `${original} `, `\t${original}\n`, `${original}\u0000`, original.toUpperCase(), original.repeat(2), `${original}${'x'.repeat(200)}`),
      fc.constant(`${' '.repeat(20)}${original}${' '.repeat(20)}`),
      ...(original.trim() !== '' && Number.isFinite(asNumber) ? [fc.constantFrom(asNumber, -asNumber, asNumber + 0.001, `0${original}`, `+${original}`, `${original}.0`)] : []),
      fc.string({ maxLength: 40, unit: 'binary' }),
    );
  }
  if (typeof original === 'number') {
    return fc.oneof(
      ...generic,
      fc.constantFrom(
        String(original),
        ` ${original} `,
        original + 1,
        original - 1,
        -original,
        original + 0.5,
        original + 0.001,
        original * 1e6,
        original.toFixed(3),
        `${original}abc`,
        Number.MAX_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER + 1,
        Number.MIN_SAFE_INTEGER,
        2 ** 31,
        2 ** 32,
        1e21,
        5e-324,
      ),
    );
  }
  return fc.oneof(...generic);
}

/** Replaces the value at one random place inside `value` (any depth) with a near miss of what was there. */
export function tamperedValue(value: unknown): fc.Arbitrary<unknown> {
  const paths = placesIn(value);
  return fc.constantFrom(...paths).chain((path) => trickyValue(at(value, path)).map((replacement) => replaceAt(value, path, replacement)));
}

function placesIn(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [path];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...placesIn(v, [...path, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...placesIn(v, [...path, k]));
  return out;
}

function at(value: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value);
}

function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  const next = replaceAt(copy[head!], rest, replacement);
  if (next === undefined && !Array.isArray(copy)) delete copy[head!];
  else copy[head!] = next;
  return copy;
}
