/**
 * Strict, offline validation of Kubernetes manifests against the pinned schemas in test/k8s/schemas:
 * the Kubernetes 1.36 OpenAPI documents (built-in kinds, by `x-kubernetes-group-version-kind`) and every
 * served version of every CRD under crds/<project>/ (crds-legacy/ is deliberately not loaded).
 *
 * Stricter than an API server on purpose: every object schema that declares `properties` and neither
 * `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`,
 * so a misspelt or misplaced field fails instead of being pruned silently. A custom resource's
 * `metadata` is validated as a full ObjectMeta. CEL rules (`x-kubernetes-validations`) are not evaluated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

export const SCHEMAS_DIR = process.env.ESHOP_K8S_SCHEMAS ?? path.resolve(__dirname, '../schemas');

const K8S_ID = 'k8s-openapi';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

export interface ManifestError {
  kind: string;
  name: string;
  namespace?: string;
  /** JSON pointer into the document ('' = the document itself). */
  pointer: string;
  message: string;
}

export type Manifest = Record<string, unknown>;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/**
 * Rewrites one OpenAPI 3.0 / Kubernetes structural schema into plain draft-07 JSON Schema for ajv.
 * `structural` is false below allOf/anyOf/oneOf/not: those branches only constrain (for example
 * "one of these two fields is required") and must not close the object.
 */
function toJsonSchema(schema: unknown, structural: boolean, refPrefix: string): unknown {
  if (typeof schema === 'boolean') return schema;
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') || key === 'description' || key === 'discriminator' || key === 'example' || key === 'externalDocs') continue;
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Json).map(([name, sub]) => [name, toJsonSchema(sub, true, refPrefix)]),
        );
        break;
      case 'items':
        out.items = Array.isArray(value) ? value.map((s) => toJsonSchema(s, true, refPrefix)) : toJsonSchema(value, true, refPrefix);
        break;
      case 'additionalProperties':
        out.additionalProperties = toJsonSchema(value, true, refPrefix);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = (value as unknown[]).map((s) => toJsonSchema(s, false, refPrefix));
        break;
      case 'not':
        out.not = toJsonSchema(value, false, refPrefix);
        break;
      case '$ref':
        out.$ref = String(value).replace('#/components/schemas/', refPrefix);
        break;
      case 'nullable':
        break; // folded into `type` below
      default:
        out[key] = value;
    }
  }
  if (schema['nullable'] === true && out.type !== undefined) {
    out.type = [...(Array.isArray(out.type) ? out.type : [out.type]), 'null'];
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    out.type = ['integer', 'string'];
    delete out.anyOf; // the CRD generators spell the same thing as anyOf [integer, string]
  }
  const preserveUnknown = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema['x-kubernetes-embedded-resource'] === true) {
    // An embedded object (e.g. a pod template inside a CR): apiVersion/kind/metadata are always allowed.
    const props = (out.properties as Json | undefined) ?? {};
    out.properties = {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: `${K8S_ID}#/definitions/${OBJECT_META}` },
      ...props,
    };
  }
  if (structural && out.properties !== undefined && out.additionalProperties === undefined && !preserveUnknown) {
    out.additionalProperties = false;
  }
  return out;
}

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export const gvkKey = ({ group, version, kind }: Gvk): string => `${group ? `${group}/` : ''}${version}/${kind}`;

export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function addFormatsTolerant(ajv: Ajv): void {
  addFormats(ajv, ['date-time', 'date', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('byte', { type: 'string', validate: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ });
  for (const tolerated of ['double', 'float', 'int-or-string', 'quantity', 'password', 'binary']) ajv.addFormat(tolerated, true);
}

/** Compiles validators lazily, once per group/version/kind (the core document alone is ~2 MB). */
/**
 * CRD patterns are Go (RE2) regexes; some start with an inline flag group that JavaScript lacks, e.g. the
 * PrometheusRule's `^(?i)(abort|warn)?$`. A leading `(?flags)` (after an optional `^`) becomes RegExp flags.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string): RegExp => {
    const inline = /^(\^?)\(\?([ims]+)\)/.exec(pattern);
    return inline ? new RegExp(`${inline[1]}${pattern.slice(inline[0].length)}`, `${flags}${inline[2]}`) : new RegExp(pattern, flags);
  },
  { code: 'new RegExp' },
);

export class SchemaValidator {
  private readonly ajv: Ajv;
  /** gvk → schema reference (built-in) or transformed CRD schema. */
  private readonly sources = new Map<string, AnySchemaObject>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(schemasDir: string = SCHEMAS_DIR) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, useDefaults: false, inlineRefs: true, code: { regExp: goRegExp } });
    addFormatsTolerant(this.ajv);
    this.loadBuiltIns(path.join(schemasDir, 'openapi'));
    this.loadCrds(path.join(schemasDir, 'crds'));
  }

  /** Every group/version/kind this validator knows, e.g. "apps/v1/Deployment", "v1/Service". */
  get knownKinds(): string[] {
    return [...this.sources.keys()].sort();
  }

  private loadBuiltIns(dir: string): void {
    const definitions: Json = {};
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const doc = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { components: { schemas: Json } };
      for (const [name, schema] of Object.entries(doc.components.schemas)) {
        if (name in definitions) continue; // shared types (ObjectMeta, PodSpec…) repeat across files, identically
        definitions[name] = toJsonSchema(schema, true, '#/definitions/');
        const gvks = (schema as Json)['x-kubernetes-group-version-kind'] as Gvk[] | undefined;
        const props = (schema as Json).properties as Json | undefined;
        // Only top-level objects (those with apiVersion/kind): skips subresources listed under many GVKs.
        if (gvks?.length === 1 && props?.['apiVersion'] && props['kind']) {
          this.sources.set(gvkKey(gvks[0]!), { $ref: `${K8S_ID}#/definitions/${name}` });
        }
      }
    }
    this.ajv.addSchema({ $id: K8S_ID, definitions }, K8S_ID);
  }

  private loadCrds(dir: string): void {
    for (const project of readdirSync(dir).sort()) {
      const projectDir = path.join(dir, project);
      for (const file of readdirSync(projectDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
        for (const doc of parseAllDocuments(readFileSync(path.join(projectDir, file), 'utf8'))) {
          const crd = doc.toJS() as Json | null;
          if (!crd || crd['kind'] !== 'CustomResourceDefinition') continue;
          const spec = crd['spec'] as { group: string; names: { kind: string }; versions: Json[] };
          for (const version of spec.versions) {
            if (version['served'] !== true) continue;
            const openApi = (version['schema'] as Json | undefined)?.['openAPIV3Schema'];
            if (!isObject(openApi)) throw new Error(`${project}/${file}: ${spec.names.kind} ${String(version['name'])} has no schema`);
            const schema = toJsonSchema(openApi, true, '#/definitions/') as Json;
            // Metadata of a custom resource is a real ObjectMeta, whatever the CRD's schema says.
            schema.properties = {
              ...(schema.properties as Json | undefined),
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { $ref: `${K8S_ID}#/definitions/${OBJECT_META}` },
            };
            schema.additionalProperties ??= false;
            const key = gvkKey({ group: spec.group, version: String(version['name']), kind: spec.names.kind });
            if (this.sources.has(key)) throw new Error(`${key} is defined twice under ${dir}`);
            this.sources.set(key, schema);
          }
        }
      }
    }
  }

  private validatorFor(key: string): ValidateFunction | undefined {
    let validate = this.compiled.get(key);
    if (!validate) {
      const source = this.sources.get(key);
      if (!source) return undefined;
      validate = this.ajv.compile(source);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** Validates one manifest; an empty list means valid. */
  validateManifest(doc: unknown): ManifestError[] {
    if (!isObject(doc)) return [{ kind: '?', name: '?', pointer: '', message: `a manifest must be an object, got ${JSON.stringify(doc)}` }];
    const kind = typeof doc['kind'] === 'string' ? doc['kind'] : '';
    const apiVersion = typeof doc['apiVersion'] === 'string' ? doc['apiVersion'] : '';
    const metadata = isObject(doc['metadata']) ? doc['metadata'] : {};
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : '?';
    const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : undefined;
    const error = (pointer: string, message: string): ManifestError => ({ kind: kind || '?', name, ...(namespace ? { namespace } : {}), pointer, message });

    if (!kind || !apiVersion) return [error('', 'apiVersion and kind are required')];
    const key = gvkKey({ ...parseApiVersion(apiVersion), kind });
    const validate = this.validatorFor(key);
    if (!validate) return [error('', `unknown apiVersion/kind ${apiVersion} ${kind}: no schema for it in ${SCHEMAS_DIR}`)];
    const errors: ManifestError[] = [];
    if (!isObject(doc['metadata']) || (typeof metadata['name'] !== 'string' && typeof metadata['generateName'] !== 'string')) {
      errors.push(error('/metadata/name', 'metadata.name is required'));
    }
    if (!validate(doc)) errors.push(...dedupe(validate.errors ?? []).map((e) => error(pointerOf(e), describe(e))));
    return errors;
  }
}

function pointerOf(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(e.params['additionalProperty'])}`;
  if (e.keyword === 'required') return `${e.instancePath}/${String(e.params['missingProperty'])}`;
  return e.instancePath;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown field "${String(e.params['additionalProperty'])}"`;
    case 'required':
      return `missing required field "${String(e.params['missingProperty'])}"`;
    case 'enum':
      return `must be one of ${JSON.stringify(e.params['allowedValues'])}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** allErrors reports every oneOf/anyOf branch; keep one line per pointer and message. */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${pointerOf(e)} ${describe(e)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

let shared: SchemaValidator | undefined;
/** One validator per process: loading the schemas takes about a second, compiling is cached per kind. */
export function sharedValidator(): SchemaValidator {
  shared ??= new SchemaValidator();
  return shared;
}

/** Validates a set of manifests; each error line names kind/name and the JSON pointer. */
export function validateAll(docs: unknown[]): ManifestError[] {
  const validator = sharedValidator();
  return docs.flatMap((doc) => validator.validateManifest(doc));
}

export const formatError = (e: ManifestError): string =>
  `${e.kind}/${e.name}${e.namespace ? ` (ns ${e.namespace})` : ''} ${e.pointer || '/'}: ${e.message}`;
