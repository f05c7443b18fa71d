/** Reading the OpenAPI document: its operations, their input schemas and their documented responses. */
import Ajv2020, { type Options, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { oas31 } from 'zod-openapi';

export type Document = oas31.OpenAPIObject;
export type JsonSchema = oas31.SchemaObject;
export type Method = 'get' | 'put' | 'post' | 'delete';

export interface Operation {
  operationId: string;
  method: Method;
  /** Template as documented, e.g. `/products/{id}`. */
  path: string;
  operation: oas31.OperationObject;
  /** Whether a caller without a token may call it (`security` lists the empty requirement). */
  anonymous: boolean;
}

const METHODS: readonly Method[] = ['get', 'put', 'post', 'delete'];

export function operations(document: Document): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const security = operation.security ?? document.security ?? [];
      out.push({
        operationId: operation.operationId!,
        method,
        path,
        operation,
        anonymous: security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0),
      });
    }
  }
  return out;
}

function deref<T>(document: Document, value: T | oas31.ReferenceObject): T {
  if (value && typeof value === 'object' && '$ref' in value) {
    const parts = value.$ref.replace(/^#\//, '').split('/');
    let node: unknown = document;
    for (const part of parts) node = (node as Record<string, unknown>)[part];
    return deref(document, node as T);
  }
  return value as T;
}

export function parameters(document: Document, op: Operation): oas31.ParameterObject[] {
  return (op.operation.parameters ?? []).map((p) => deref(document, p));
}

/** The parameters of one location as one object schema (as the services validate `req.query`, `req.params`). */
const parameterSchemaCache = new WeakMap<object, Partial<Record<'query' | 'path' | 'header', JsonSchema>>>();

export function parameterSchemas(document: Document, op: Operation): Partial<Record<'query' | 'path' | 'header', JsonSchema>> {
  const cached = parameterSchemaCache.get(op.operation);
  if (cached) return cached;
  const out: Partial<Record<'query' | 'path' | 'header', JsonSchema>> = {};
  parameterSchemaCache.set(op.operation, out);
  for (const location of ['query', 'path', 'header'] as const) {
    const list = parameters(document, op).filter((p) => p.in === location);
    if (list.length === 0) continue;
    out[location] = {
      type: 'object',
      properties: Object.fromEntries(list.map((p) => [p.name, p.schema ?? {}])),
      required: list.filter((p) => p.required).map((p) => p.name),
      // Services reject unknown query parameters; headers and path segments are open.
      ...(location === 'query' ? { additionalProperties: false } : {}),
    };
  }
  return out;
}

export function requestBodySchema(op: Operation): JsonSchema | undefined {
  const body = op.operation.requestBody as oas31.RequestBodyObject | undefined;
  return body?.content['application/json']?.schema as JsonSchema | undefined;
}

export interface DocumentedResponse {
  /** The documented status key: `201`, `404` or `default`. */
  key: string;
  mediaType?: string;
  schema?: JsonSchema;
  /** Header names the response must carry (lower case). */
  requiredHeaders: string[];
}

/** The documented response for a status, falling back to `default` (undefined if neither). */
export function documentedResponse(document: Document, op: Operation, status: number): DocumentedResponse | undefined {
  const responses = op.operation.responses ?? {};
  const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
  if (key === undefined) return undefined;
  const response = deref<oas31.ResponseObject>(document, responses[key]);
  const [mediaType, media] = Object.entries(response.content ?? {})[0] ?? [];
  const requiredHeaders = Object.entries(response.headers ?? {})
    .filter(([, header]) => deref<oas31.HeaderObject>(document, header).required === true)
    .map(([name]) => name.toLowerCase());
  return { key, mediaType, schema: media?.schema as JsonSchema | undefined, requiredHeaders };
}

/**
 * Compiles the document's JSON Schemas (2020-12, as OpenAPI 3.1) with Ajv in strict mode, a schema taken
 * out of the document still resolving its `#/components/schemas/...` references.
 */
export class DocumentSchemas {
  private readonly ajv: Ajv2020;

  constructor(document: Document, options: Options = {}) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true, ...options });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: COMPONENTS, $defs: rewriteRefs(document.components?.schemas ?? {}) as Record<string, object> });
  }

  private readonly compiled = new WeakMap<object, ValidateFunction>();

  /** The validator of a schema taken from the document (compiled once per schema object). */
  compile(schema: JsonSchema): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(schema) as object);
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  /** The last errors of `validate`, as one line. */
  errors(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: '; ' });
  }
}

const COMPONENTS = 'urn:eshop:openapi:components';

/** `#/components/schemas/X` → a reference into the registered components resource. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${COMPONENTS}#/$defs/${v.slice('#/components/schemas/'.length)}` : rewriteRefs(v),
      ]),
    );
  }
  return value;
}
