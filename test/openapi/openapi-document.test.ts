/**
 * The OpenAPI document is generated from the services' validators; these tests keep the committed
 * copies current (regenerate with: npm run docs:openapi), check that it is a valid OpenAPI 3.1 document,
 * and that it is honest about requests: whatever a validator accepts, the document accepts too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import type { z } from 'zod';
import { ROUTES } from '../../services/gateway/src/http/routes';
import { listOrdersQuery, orderIdParams, placeOrderBody, statusChangeBody } from '../../services/order/src/http/schemas';
import { createProductBody, listProductsQuery, productIdParams, updateProductBody } from '../../services/product/src/http/schemas';
import { buildOpenApiDocument, OPENAPI_FILES, renderOpenApiDocument } from './openapi-document';
import { DocumentSchemas, documentedResponse, operations, parameterSchemas, requestBodySchema } from '../fuzz/support/openapi';
import { FUZZ_SEED, tamperedValue, validValue } from '../fuzz/support/arbitraries';

const REPO = path.join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const OAS_31_SCHEMA = require('@seriousme/openapi-schema-validator/schemas/v3.1/schema.json') as Record<string, unknown>;

describe('docs/openapi.json and the copy the gateway serves', () => {
  const expected = renderOpenApiDocument(VERSION);

  it.each(OPENAPI_FILES.map((file) => [path.relative(REPO, file), file]))('%s is what the validators generate', (_name, file) => {
    if (process.env.UPDATE_DOCS === '1') writeFileSync(file, expected);
    expect(readFileSync(file, 'utf8')).toBe(expected);
  });

  it('is a valid OpenAPI 3.1 document (the official schema), and every JSON Schema in it compiles', () => {
    const document = buildOpenApiDocument(VERSION);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('media-range', true); // a media type or range (`application/*`), as the schema's content keys
    const validate = ajv.compile(OAS_31_SCHEMA);
    expect(validate(document) ? [] : validate.errors).toEqual([]);
    // Every request and response schema compiles in strict mode (an unknown keyword or a bad pattern fails).
    const strict = new DocumentSchemas(document);
    for (const op of operations(document)) {
      const schemas = [...Object.values(parameterSchemas(document, op)), requestBodySchema(op)];
      for (const status of Object.keys(op.operation.responses ?? {})) schemas.push(documentedResponse(document, op, Number(status) || 599)?.schema);
      for (const schema of schemas) if (schema) expect(() => strict.compile(schema)).not.toThrow();
    }
  });

  it('documents every route the gateway forwards, and nothing else', () => {
    const document = buildOpenApiDocument(VERSION);
    const forwarded = ROUTES.map((r) => r.template)
      .filter((template) => !template.includes('*'))
      .map((template) => template.replace(/:(\w+)/g, '{$1}'))
      .sort();
    expect(Object.keys(document.paths ?? {}).sort()).toEqual(forwarded);
  });
});

/**
 * Random values, valid by the document and then tampered with (whitespace, numbers as strings, wrapped
 * in arrays, boundaries …), go through a validator and through the document's schema for the same
 * input: a value the validator accepts must be valid by the document.
 */
describe('the document accepts whatever the validators accept', () => {
  const document = buildOpenApiDocument(VERSION);
  const ajv = new DocumentSchemas(document);
  /** Query and path parameters arrive as strings: the document types them (integer limit, …) as values. */
  const coercing = new DocumentSchemas(document, { coerceTypes: true });
  const byId = new Map(operations(document).map((op) => [op.operationId, op]));
  const op = (id: string) => byId.get(id)!;

  const bodies: Array<[string, z.ZodType]> = [
    ['createProduct', createProductBody],
    ['updateProduct', updateProductBody],
    ['placeOrder', placeOrderBody],
    ['placeOrderAsync', placeOrderBody],
    ['changeOrderStatus', statusChangeBody],
  ];
  const parameters: Array<[string, 'query' | 'path', z.ZodType]> = [
    ['listProducts', 'query', listProductsQuery],
    ['getProduct', 'path', productIdParams],
    ['listOrders', 'query', listOrdersQuery],
    ['getOrder', 'path', orderIdParams],
  ];

  it.each(bodies)('%s: request bodies', (operationId, validator) => {
    const schema = requestBodySchema(op(operationId))!;
    const check = ajv.compile(schema);
    fc.assert(
      fc.property(tampered(schema, document), (body) => {
        if (validator.safeParse(body).success) expect({ body, valid: check(body), errors: check.errors }).toMatchObject({ valid: true });
      }),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
  });

  it.each(parameters)('%s: %s parameters', (operationId, location, validator) => {
    const schema = parameterSchemas(document, op(operationId))[location]!;
    const check: ValidateFunction = coercing.compile(schema);
    // As Express hands them over: strings (a repeated query parameter would be an array of them).
    const asStrings = tampered(schema, document).map((value) =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
        : {},
    );
    fc.assert(
      fc.property(asStrings, (params) => {
        if (validator.safeParse(params).success) {
          const copy = structuredClone(params);
          expect({ params, valid: check(copy), errors: check.errors }).toMatchObject({ valid: true });
        }
      }),
      { seed: FUZZ_SEED, numRuns: 1000 },
    );
  });
});

/** A value valid by `schema`, then (three times in four) one place in it swapped for a near miss. */
function tampered(schema: object, document: object): fc.Arbitrary<unknown> {
  return validValue(schema, document).chain((value) => fc.oneof({ weight: 1, arbitrary: fc.constant(value) }, { weight: 3, arbitrary: tamperedValue(value) }));
}
