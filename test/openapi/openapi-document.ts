/**
 * The public API's OpenAPI 3.1 document, built from the zod validators the product and order services
 * run on every request (request bodies, path and query parameters), so it cannot promise what the
 * services do not accept. Responses are described here (the services build them from plain
 * functions, not zod); the hostile-input suite (test/fuzz) checks every response it gets against them.
 *
 * Written to docs/openapi.json (for readers) and services/gateway/src/http/openapi.json (compiled into
 * the gateway, which serves it at GET /openapi.json) by `npm run docs:openapi`; test/openapi checks
 * both are current.
 */
import path from 'node:path';
import { ROLES, schemas } from '@eshop/common';
import { z } from 'zod';
import { createDocument, type oas31, type ZodOpenApiOperationObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { ORDER_STATUSES } from '../../services/order/src/domain/order-status';
import {
  IDEMPOTENCY_KEY,
  listOrdersQuery,
  MAX_PAGE_SIZE as MAX_ORDER_PAGE,
  orderIdParams,
  placeOrderBody,
  statusChangeBody,
} from '../../services/order/src/http/schemas';
import {
  createProductBody,
  listProductsQuery,
  MAX_PAGE_SIZE as MAX_PRODUCT_PAGE,
  productIdParams,
  updateProductBody,
} from '../../services/product/src/http/schemas';

const REPO = path.join(__dirname, '..', '..');

/** Where the document is committed: for readers, and inside the gateway that serves it. */
export const OPENAPI_FILES = [path.join(REPO, 'docs', 'openapi.json'), path.join(REPO, 'services', 'gateway', 'src', 'http', 'openapi.json')];

type JsonSchema = oas31.SchemaObject;

// ------------------------------------------------------------------------------ honest input schemas

/**
 * Validators whose input zod cannot describe (transforms): what they accept, written out. The document
 * test replays random values through the validator and the document to keep these in step.
 */
function inputOverrides(): Map<unknown, JsonSchema> {
  const positiveId: JsonSchema = {
    anyOf: [
      { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
      { type: 'string', pattern: '^[1-9]\\d{0,15}$' },
    ],
    description: 'a positive integer id, as a JSON number or a string of digits (at most 2^53 - 1)',
  };
  const money: JsonSchema = {
    anyOf: [
      { type: 'string', pattern: '^\\s*\\d{1,10}(\\.\\d{1,2})?\\s*$' },
      { type: 'number', minimum: 0, maximum: 9999999999.99 },
    ],
    description:
      'a non-negative decimal with at most 2 decimal places: a string such as "19.99" (preferred, exact) or a JSON number that prints as one',
    examples: ['19.99'],
  };
  const userId: JsonSchema = {
    anyOf: [
      { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    ],
    description: "the customer's user id (1-64 characters of A-Z, a-z, 0-9, _ or -, or a positive integer); a customer's own: the subject of the access token",
    examples: ['42'],
  };
  const pageSize = (max: number): JsonSchema => ({ type: 'integer', minimum: 1, maximum: max, default: 20, description: 'page size' });
  return new Map<unknown, JsonSchema>([
    [schemas.numericId, positiveId],
    [schemas.money, money],
    [placeOrderBody.shape.user_id, userId],
    [listProductsQuery.shape.limit, pageSize(MAX_PRODUCT_PAGE)],
    [listOrdersQuery.shape.limit, pageSize(MAX_ORDER_PAGE)],
  ]);
}

/** Whether a zod string trims its input before checking it (`.trim()`): its length limits apply to the trimmed text. */
function trims(schema: { _zod: { def: unknown } }): boolean {
  const def = schema._zod.def as { type: string; checks?: Array<{ _zod: { def: { check: string; tx?: (value: string) => unknown } } }> };
  return def.type === 'string' && (def.checks ?? []).some((c) => c._zod.def.check === 'overwrite' && c._zod.def.tx?.(' x ') === 'x');
}

/**
 * A trimmed string's input: surrounding whitespace is not counted, so the raw text has no length limit
 * JSON Schema could state; "not blank" is a non-whitespace character (JSON Schema's `\s` is the set trim() removes).
 */
function untrimmedInput(jsonSchema: { minLength?: number; maxLength?: number; pattern?: string; description?: string }): void {
  const { minLength, maxLength } = jsonSchema;
  delete jsonSchema.minLength;
  delete jsonSchema.maxLength;
  if (minLength !== undefined && minLength >= 1) jsonSchema.pattern = '\\S';
  const limits = [minLength !== undefined && minLength > 1 ? `at least ${minLength}` : undefined, maxLength !== undefined ? `at most ${maxLength}` : undefined].filter(Boolean);
  jsonSchema.description = `${jsonSchema.description ? `${jsonSchema.description}; ` : ''}surrounding whitespace is trimmed${minLength ? ', the rest must not be blank' : ''}${limits.length > 0 ? ` and ${limits.join(' and ')} characters long` : ''}`;
}

/** Rules the validators check across fields (refinements), added where JSON Schema can say them. */
function crossFieldRules(): Map<unknown, JsonSchema> {
  return new Map<unknown, JsonSchema>([
    [updateProductBody, { minProperties: 1, description: 'any subset of the writable fields, at least one' }],
    [createProductBody, { description: 'a new product' }],
    [placeOrderBody, { description: 'an order: one line per product (a product_id may appear only once)' }],
    [statusChangeBody, { description: '`reason` applies only to rejected and cancelled' }],
  ]);
}

// --------------------------------------------------------------------------------- representations

const money = z.string().regex(/^\d{1,10}\.\d{2}$/).meta({ description: 'decimal amount with exactly 2 decimal places', examples: ['19.99'] });
const timestamp = z.iso.datetime();
const nextCursor = z.string().nullable().meta({ description: 'pass as `cursor` for the next page; null on the last page' });

const product = z
  .strictObject({
    id: z.int().min(1),
    name: z.string(),
    description: z.string(),
    price: money,
    stock: z.int().min(0),
    version: z.int().min(1).meta({ description: 'increases with every change; the ETag is this number in quotes' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Product' });

const orderLine = z.strictObject({
  product_id: z.int().min(1),
  quantity: z.int().min(1),
  name: z.string().nullable().meta({ description: 'product name when the order was confirmed; null while pending' }),
  unit_price: money.nullable(),
  line_total: money.nullable(),
});

const order = z
  .strictObject({
    id: z.uuid(),
    user_id: z.string(),
    status: z.enum(ORDER_STATUSES),
    mode: z.enum(['sync', 'async']),
    reason: z.string().nullable().meta({ description: 'why the order was rejected or cancelled' }),
    total: money.nullable().meta({ description: 'null until the order is confirmed' }),
    items: z.array(orderLine),
    version: z.int().min(1),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Order' });

const productPage = z.strictObject({ items: z.array(product), next_cursor: nextCursor }).meta({ id: 'ProductPage' });
const orderPage = z.strictObject({ items: z.array(order), next_cursor: nextCursor }).meta({ id: 'OrderPage' });

/** RFC 9457 problem details as services/common/src/errors.ts (toProblem) writes them; extensions allowed. */
const problem = z
  .looseObject({
    type: z.string().meta({ description: 'urn:eshop:problem:<code>' }),
    title: z.string(),
    status: z.int().min(400).max(599),
    code: z.string().meta({ description: 'stable machine-readable reason, e.g. validation_failed, insufficient_stock' }),
    detail: z.string().optional(),
    instance: z.string().optional(),
    field: z.string().optional().meta({ description: 'the first offending field, e.g. price, items[0].quantity, If-Match' }),
    errors: z
      .array(z.strictObject({ field: z.string(), message: z.string(), code: z.string() }))
      .optional()
      .meta({ description: 'one entry per offending field (validation errors)' }),
    location: z.enum(['body', 'query', 'path', 'header']).optional().meta({ description: 'where the offending input was' }),
    request_id: z.string().optional(),
  })
  .meta({ id: 'Problem' });

// --------------------------------------------------------------------------------------- responses

/** A response header, registered once under components.headers. */
const header = (id: string, description: string, schema: z.ZodType = z.string()) => schema.meta({ header: { id, description } });

const requestId = header('X-Request-Id', 'the caller-supplied X-Request-Id if well-formed (1-128 of A-Z a-z 0-9 _ . : -), else a generated one');
const retryAfter = header('Retry-After', 'seconds to wait before retrying');
const problemContent = { 'application/problem+json': { schema: problem } };

function problemResponse(id: string, description: string, headers: Record<string, z.ZodType> = {}): ZodOpenApiResponseObject {
  return { id, description, headers: z.object({ 'X-Request-Id': requestId, ...headers }), content: problemContent };
}

const PROBLEMS = {
  400: problemResponse('BadRequest', 'invalid request: `field` and `errors` name each offending field (in the body, query, path or a header)'),
  401: problemResponse('Unauthorized', 'no valid access token (missing where needed, malformed, expired or not ours)', {
    'WWW-Authenticate': header('WWW-Authenticate', 'Bearer challenge'),
  }),
  403: problemResponse('Forbidden', 'signed in, but not allowed (role, or another user’s order or user id)'),
  404: problemResponse('NotFound', 'no such resource'),
  409: problemResponse('Conflict', 'conflicts with the current state (see `code`)'),
  412: problemResponse('PreconditionFailed', 'If-Match does not match the current version', {
    ETag: header('CurrentETag', 'entity tag of the current version'),
  }),
  413: problemResponse('ContentTooLarge', 'request body larger than the limit'),
  415: problemResponse('UnsupportedMediaType', 'request body is not application/json'),
  422: problemResponse('UnprocessableContent', 'well-formed but cannot be processed (see `code`)'),
  428: problemResponse('PreconditionRequired', 'If-Match is required (product service run with PRODUCT_REQUIRE_IF_MATCH)'),
  429: problemResponse('TooManyRequests', 'rate limit exceeded', { 'Retry-After': retryAfter }),
  503: problemResponse('ServiceUnavailable', 'a dependency is unavailable; nothing changed', { 'Retry-After': retryAfter }),
  default: problemResponse('Error', 'any other error, e.g. 502/503/504 when the gateway cannot reach a service'),
} as const satisfies Record<string, ZodOpenApiResponseObject>;

type ProblemStatus = Exclude<keyof typeof PROBLEMS, 'default'>;

function problems(...statuses: ProblemStatus[]): Record<string, ZodOpenApiResponseObject> {
  const out: Record<string, ZodOpenApiResponseObject> = {};
  for (const status of [...statuses, 429 as const].sort()) out[String(status)] = PROBLEMS[status];
  out.default = PROBLEMS.default;
  return out;
}

function ok(description: string, schema: z.ZodType, headers: Record<string, z.ZodType> = {}): ZodOpenApiResponseObject {
  return { description, headers: z.object({ 'X-Request-Id': requestId, ...headers }), content: { 'application/json': { schema } } };
}

const etag = header('ETag', 'strong entity tag of the returned version, e.g. "3"; send it as If-Match');
const location = header('Location', 'path of the new resource');
const nextLink = header('Link', 'RFC 8288 link to the next page (rel="next"), absent on the last page', z.string().optional());

// ---------------------------------------------------------------------------------------- requests

const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });

const ifMatch = z
  .string()
  .optional()
  .meta({
    param: {
      description:
        'optimistic concurrency: `*` or the product’s ETag (e.g. "3"); a stale version gets 412. Required (428 without) when the product service runs with PRODUCT_REQUIRE_IF_MATCH.',
    },
  });
const idempotencyKey = z
  .string()
  .regex(IDEMPOTENCY_KEY)
  .optional()
  .meta({
    param: {
      description:
        '1-128 visible ASCII characters; makes a retry safe: the same key with the same body replays the first response (Idempotent-Replayed: true), with another body it is a 422',
    },
  });
const replayed = header(
  'Idempotent-Replayed',
  'present when this is the recorded response of an earlier request with the same Idempotency-Key',
  z.literal('true').optional(),
);

/** Anonymous callers may browse the catalogue; a token, if sent, must still be valid. */
const anonymousOrBearer: oas31.SecurityRequirementObject[] = [{}, { bearerAuth: [] }];

const productOperations: Record<string, Record<string, ZodOpenApiOperationObject>> = {
  '/products': {
    get: {
      operationId: 'listProducts',
      tags: ['products'],
      summary: 'List products by id, optionally filtered by name and price',
      security: anonymousOrBearer,
      requestParams: { query: listProductsQuery },
      responses: { '200': ok('a page of products', productPage, { Link: nextLink }), ...problems(400, 401) },
    },
    post: {
      operationId: 'createProduct',
      tags: ['products'],
      summary: 'Create a product (admin)',
      requestBody: jsonBody(createProductBody),
      responses: { '201': ok('created', product, { Location: location, ETag: etag }), ...problems(400, 401, 403, 413, 415) },
    },
  },
  '/products/{id}': {
    get: {
      operationId: 'getProduct',
      tags: ['products'],
      summary: 'Get a product',
      security: anonymousOrBearer,
      requestParams: { path: productIdParams },
      responses: { '200': ok('the product', product, { ETag: etag }), ...problems(400, 401, 404) },
    },
    put: {
      operationId: 'updateProduct',
      tags: ['products'],
      summary: 'Change some fields of a product (admin)',
      requestParams: { path: productIdParams, header: z.object({ 'If-Match': ifMatch }) },
      requestBody: jsonBody(updateProductBody),
      responses: { '200': ok('the product after the change', product, { ETag: etag }), ...problems(400, 401, 403, 404, 412, 413, 415, 428) },
    },
    delete: {
      operationId: 'deleteProduct',
      tags: ['products'],
      summary: 'Stop selling a product (admin); its orders keep their lines',
      requestParams: { path: productIdParams, header: z.object({ 'If-Match': ifMatch }) },
      responses: { '204': { description: 'deleted' }, ...problems(400, 401, 403, 404, 412, 428) },
    },
  },
};

const placeOrderResponses = (code: '201' | '202', description: string) => ({
  [code]: ok(description, order, { Location: location, 'Idempotent-Replayed': replayed }),
});

const orderOperations: Record<string, Record<string, ZodOpenApiOperationObject>> = {
  '/orders': {
    post: {
      operationId: 'placeOrder',
      tags: ['orders'],
      summary: 'Place an order and reserve its stock now (synchronous)',
      description:
        'Confirmed (201) or refused: 409 insufficient_stock, 422 product_unavailable, 503 when the inventory cannot be asked. A customer orders for themselves only.',
      requestParams: { header: z.object({ 'Idempotency-Key': idempotencyKey }) },
      requestBody: jsonBody(placeOrderBody),
      responses: { ...placeOrderResponses('201', 'confirmed'), ...problems(400, 401, 403, 409, 413, 415, 422, 503) },
    },
    get: {
      operationId: 'listOrders',
      tags: ['orders'],
      summary: 'List orders, newest first (a customer: their own)',
      requestParams: { query: listOrdersQuery },
      responses: { '200': ok('a page of orders', orderPage, { Link: nextLink }), ...problems(400, 401, 403) },
    },
  },
  '/orders/async': {
    post: {
      operationId: 'placeOrderAsync',
      tags: ['orders'],
      summary: 'Accept an order for asynchronous processing',
      description: 'Answers 202 with the pending order at once; it becomes confirmed or rejected shortly (poll GET /orders/{id}).',
      requestParams: { header: z.object({ 'Idempotency-Key': idempotencyKey }) },
      requestBody: jsonBody(placeOrderBody),
      responses: { ...placeOrderResponses('202', 'accepted, pending'), ...problems(400, 401, 403, 413, 415, 422) },
    },
  },
  '/orders/{id}': {
    get: {
      operationId: 'getOrder',
      tags: ['orders'],
      summary: 'Get an order (a customer: their own)',
      requestParams: { path: orderIdParams },
      responses: { '200': ok('the order', order), ...problems(400, 401, 403, 404) },
    },
  },
  '/orders/{id}/status': {
    put: {
      operationId: 'changeOrderStatus',
      tags: ['orders'],
      summary: 'Move an order along its lifecycle (admin; a customer may only cancel their own)',
      description:
        'Confirming a pending order reserves its stock as the order consumers would: if that is refused (409 insufficient_stock, 422 product_unavailable) the order is now rejected, and the problem says so (`order_status`); 503 when the inventory cannot be asked. An illegal transition is 409 illegal_transition with the `allowed` next statuses.',
      requestParams: { path: orderIdParams },
      requestBody: jsonBody(statusChangeBody),
      responses: { '200': ok('the order after the change', order), ...problems(400, 401, 403, 404, 409, 413, 415, 422, 503) },
    },
  },
};

// ---------------------------------------------------------------------------------------- document

/** The OpenAPI document of the public API, as the gateway serves it. */
export function buildOpenApiDocument(version: string): oas31.OpenAPIObject {
  const overrides = inputOverrides();
  const rules = crossFieldRules();
  // createDocument is typed for the newest OpenAPI it writes (3.2); with `openapi: '3.1.0'` it writes 3.1.
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'eshop API',
        version,
        description: [
          'The public API of the shop, served by the API gateway. Generated from the validators the services run (npm run docs:openapi); do not edit.',
          '',
          `Authentication: a bearer JWT from the shop's identity provider (issuer, audience and algorithm checked by the gateway; roles in the \`roles\` claim: ${ROLES.join(', ')}). Anyone may browse the catalogue; everything else needs a token.`,
          '',
          'Errors are RFC 9457 problem details (application/problem+json) with a stable `code`; validation errors name each offending field.',
        ].join('\n'),
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: [
        { name: 'products', description: 'the catalogue (product service)' },
        { name: 'orders', description: 'orders (order service)' },
      ],
      security: [{ bearerAuth: [] }],
      paths: { ...productOperations, ...orderOperations },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'Authorization: Bearer <access token>; sub = the user id, roles claim = admin and/or customer',
          },
        },
      },
    },
    {
      override: ({ zodSchema, jsonSchema, io }) => {
        const replacement = io === 'input' ? overrides.get(zodSchema) : undefined;
        if (replacement) {
          for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
          Object.assign(jsonSchema, structuredClone(replacement));
        }
        if (io === 'input' && trims(zodSchema)) untrimmedInput(jsonSchema);
        const rule = io === 'input' ? rules.get(zodSchema) : undefined;
        if (rule) Object.assign(jsonSchema, rule);
      },
    },
  ) as unknown as oas31.OpenAPIObject;
}

/** The committed file's text: stable key order as built, two-space indent, final newline. */
export function renderOpenApiDocument(version: string): string {
  return `${JSON.stringify(buildOpenApiDocument(version), null, 2)}\n`;
}
