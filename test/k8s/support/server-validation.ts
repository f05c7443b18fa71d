/**
 * Manifests judged by the real API server of local/cluster.sh: a server-side dry run (nothing is stored) under
 * strict field validation, so a misspelt or misplaced field, a wrong type, a missing required field, an unknown
 * kind or version and a CRD's own rules (enums, patterns, CEL) fail with the server's own message.
 *
 * Everything is sent to one namespace of its own, eshop-validate (each document's metadata.namespace is dropped
 * and the request names that namespace; cluster-scoped documents go as they are), labelled PodSecurity
 * `restricted`: the pod template of every workload is also dry-run as a Pod there, so the PodSecurity admission
 * judges it as it would the pods its controller creates. Before the first request of a process the control plane
 * is started if it does not answer, and the CRDs of test/k8s/schemas/crds are server-side applied (the same
 * files and field manager as `local/cluster.sh deploy`) unless the server has them at the files' content.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureControlPlane, kubectl, kubectlRun } from './local-cluster';
import { nameOf, objectOf, podTemplateOf } from './policies';
import { ROOT, type Manifest } from './render';

export const VALIDATION_NAMESPACE = 'eshop-validate';
export const CRD_DIR = path.join(ROOT, 'test/k8s/schemas/crds');

/** Field manager of the CRDs' content: the one local/cluster.sh deploy applies them with. */
const CRD_MANAGER = 'eshop-crds';
/** Field manager of this module's own writes: the namespace and the CRDs' source annotation. */
const MANAGER = 'eshop-validate';

export interface ServerError {
  kind: string;
  name: string;
  message: string;
}

export const formatServerError = (e: ServerError): string => `${e.kind}/${e.name}: ${e.message}`;

/**
 * On each CRD: `<sha256 of its source file>-<CRDs in that file>`, so one listing tells whether the server has every
 * CRD of every file at the file's current content, without parsing the files (~0.7 s) in every process.
 */
const SOURCE_ANNOTATION = 'eshop.io/crd-source';

interface CrdFile {
  file: string;
  text: string;
  sha: string;
}

function pinnedCrdFiles(): CrdFile[] {
  return readdirSync(CRD_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(CRD_DIR, file), 'utf8');
      return { file, text, sha: createHash('sha256').update(`${file}\0${text}`).digest('hex') };
    });
}

/** The CRDs of a file as the server reads them (YAML 1.1). */
const crdsOf = (f: CrdFile): Manifest[] =>
  parseAllDocuments(f.text, { version: '1.1' })
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d?.['kind'] === 'CustomResourceDefinition');

const NAMESPACE_DOC = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: {
    name: VALIDATION_NAMESPACE,
    labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
  },
};

/** One listing of the CRDs, the namespaces and our namespace's ServiceAccounts: kind, name, source annotation, Established, PodSecurity enforce level. */
function clusterState(): { status: number; rows: string[][]; stderr: string } {
  const fields = ['{.kind}', '{.metadata.name}', `{.metadata.annotations.eshop\\.io/crd-source}`, '{.status.conditions[?(@.type=="Established")].status}', '{.metadata.labels.pod-security\\.kubernetes\\.io/enforce}'];
  const r = kubectlRun(['get', 'crd,namespace,serviceaccount', '-n', VALIDATION_NAMESPACE, '-o', `jsonpath={range .items[*]}${fields.join('{"\\t"}')}{"\\n"}{end}`]);
  return { status: r.status, rows: r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')), stderr: r.stderr };
}

let prepared = false;

/** Once per process: the control plane answers, the pinned CRDs are served at their files' content, the namespace exists. */
function prepare(): void {
  if (prepared) return;
  let state = clusterState();
  if (state.status !== 0) {
    ensureControlPlane();
    state = clusterState();
    if (state.status !== 0) throw new Error(`the local cluster does not answer after local/cluster.sh up:\n${state.stderr}`);
  }

  const established = state.rows.filter((r) => r[0] === 'CustomResourceDefinition' && r[3] === 'True').map((r) => r[2] ?? '');
  const stale = pinnedCrdFiles().filter((f) => {
    const served = established.filter((a) => a.startsWith(`${f.sha}-`));
    return served.length === 0 || served.length !== Number(served[0]!.slice(f.sha.length + 1));
  });
  if (stale.length > 0) {
    const crds = stale.flatMap((f) => crdsOf(f).map((crd, _i, all) => ({ crd, source: `${f.sha}-${all.length}` })));
    // The content as local/cluster.sh deploy applies it (its field manager); the annotation under ours, which its next apply keeps.
    kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${CRD_MANAGER}`, '-f', '-'], crds.map((c) => JSON.stringify(c.crd)).join('\n'));
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${nameOf(c.crd)}`)]);
    const annotations = crds.map((c) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: nameOf(c.crd), annotations: { [SOURCE_ANNOTATION]: c.source } } }));
    kubectl(['apply', '--server-side', `--field-manager=${MANAGER}`, '-f', '-'], annotations.map((a) => JSON.stringify(a)).join('\n'));
  }

  if (!state.rows.some((r) => r[0] === 'Namespace' && r[1] === VALIDATION_NAMESPACE && r[4] === 'restricted')) {
    kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${MANAGER}`, '-f', '-'], JSON.stringify(NAMESPACE_DOC));
  }
  // Pods need their namespace's default ServiceAccount, which the controller manager creates shortly after the namespace.
  const deadline = Date.now() + 30_000;
  let hasServiceAccount = state.rows.some((r) => r[0] === 'ServiceAccount' && r[1] === 'default');
  while (!hasServiceAccount) {
    if (Date.now() > deadline) throw new Error(`no ServiceAccount default in namespace ${VALIDATION_NAMESPACE} after 30 s: is the controller manager running?`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    hasServiceAccount = kubectlRun(['-n', VALIDATION_NAMESPACE, 'get', 'serviceaccount', 'default', '-o', 'name']).status === 0;
  }
  prepared = true;
}

interface Request {
  /** The document as sent. */
  body: Manifest;
  /** What an error is reported against: the document, or the workload a Pod was made from. */
  kind: string;
  name: string;
  /** Prefix of the message ("pod template: " for a workload's Pod). */
  context: string;
  /** The workload's own request, for a Pod made from its template. */
  parent?: Request;
}

/** How `kubectl -o name` prints an object: lower-case kind, `.group` unless core, `/name`. */
function printedName(doc: Manifest): string {
  const apiVersion = String(doc['apiVersion'] ?? '');
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  return `${String(doc['kind'] ?? '').toLowerCase()}${group ? `.${group}` : ''}/${String(objectOf(doc['metadata'])['name'])}`;
}

/** The document with its namespace dropped: the request puts it in VALIDATION_NAMESPACE (cluster-scoped ones stay so). */
function unNamespaced(doc: Manifest): Manifest {
  const copy = structuredClone(doc);
  if (copy['metadata'] && typeof copy['metadata'] === 'object') delete (copy['metadata'] as Record<string, unknown>)['namespace'];
  return copy;
}

/**
 * The Pod a workload's controller would create, for PodSecurity to judge. Its ServiceAccount and PriorityClass
 * would be in the same (unstored) dry run, so the Pod gets the namespace's default ServiceAccount and no class;
 * PodSecurity reads neither.
 */
function podOf(workload: Request): Request | undefined {
  const template = podTemplateOf(workload.body);
  if (!template) return undefined;
  const spec = { ...objectOf(template['spec']), serviceAccountName: 'default' } as Record<string, unknown>;
  delete spec['serviceAccount'];
  delete spec['priorityClassName'];
  const meta = objectOf(template['metadata']);
  const metadata = {
    name: `psa-${workload.kind.toLowerCase()}-${workload.name}`.slice(0, 253),
    ...(meta['labels'] ? { labels: meta['labels'] } : {}),
    ...(meta['annotations'] ? { annotations: meta['annotations'] } : {}),
  };
  return { body: { apiVersion: 'v1', kind: 'Pod', metadata, spec }, kind: workload.kind, name: workload.name, context: 'pod template: ', parent: workload };
}

const APPLY = ['apply', '--server-side', '--dry-run=server', '--validate=strict', '--force-conflicts', `--field-manager=${MANAGER}`, '-n', VALIDATION_NAMESPACE, '-o', 'name', '-f', '-'];

/**
 * kubectl's error output as one line: its "Error from server (Reason): " wrapping dropped, the server's list of
 * field errors (in no fixed order) sorted, warnings left out.
 */
function serverMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Warning: '));
  const head = lines.filter((l) => !/^\s/.test(l)).map((l) => l.replace(/^Error from server(?: \([A-Za-z]+\))?: /, '').trim());
  const listed = lines.filter((l) => /^\s/.test(l)).map((l) => l.trim()).sort();
  return [...head, ...listed].join(' ').trim();
}

/**
 * Validates manifests on the server: an empty list means the server would accept every one of them (and
 * PodSecurity `restricted` every pod of their workloads). All go in one request; only when some fail is each of
 * those sent again alone, for a message that is surely its own.
 */
export function validateOnServer(docs: Manifest[]): ServerError[] {
  if (docs.length === 0) return [];
  prepare();
  const requests: Request[] = docs.map((doc) => ({
    body: unNamespaced(doc),
    kind: String(doc['kind'] ?? '?'),
    name: String(objectOf(doc['metadata'])['name'] ?? '?'),
    context: '',
  }));
  requests.push(...requests.flatMap((r) => podOf(r) ?? []));

  const batch = kubectlRun(APPLY, requests.map((r) => JSON.stringify(r.body)).join('\n'));
  const printed = new Map<string, number>();
  for (const line of batch.stdout.split('\n').filter(Boolean)) printed.set(line.trim(), (printed.get(line.trim()) ?? 0) + 1);
  const wanted = new Map<string, number>();
  for (const r of requests) wanted.set(printedName(r.body), (wanted.get(printedName(r.body)) ?? 0) + 1);
  const failed = requests.filter((r) => (printed.get(printedName(r.body)) ?? 0) < wanted.get(printedName(r.body))!);
  if (batch.status !== 0 && failed.length === 0) throw new Error(`kubectl ${APPLY.join(' ')} exited ${batch.status} with every object accepted:\n${batch.stderr}`);

  const errors: ServerError[] = [];
  const refused = new Set<Request>();
  for (const r of failed.filter((f) => !f.parent)) {
    const message = refusal(r);
    if (message === undefined) continue; // a document that shares its kind/name with a refused one
    refused.add(r);
    errors.push({ kind: r.kind, name: r.name, message });
  }
  // A workload the server refused says why itself; its Pod would only repeat that.
  for (const r of failed.filter((f) => f.parent && !refused.has(f.parent))) {
    const message = refusal(r);
    if (message !== undefined) errors.push({ kind: r.kind, name: r.name, message: `${r.context}${message}` });
  }
  return errors;
}

/** The server's answer to one request alone: undefined if accepted. A server that does not answer is no refusal. */
function refusal(r: Request): string | undefined {
  const alone = kubectlRun(APPLY, JSON.stringify(r.body));
  if (alone.status === 0) return undefined;
  if (/Unable to connect to the server|The connection to the server .* was refused/.test(alone.stderr)) {
    throw new Error(`the local API server stopped answering during validation:\n${alone.stderr}`);
  }
  return serverMessage(alone.stderr);
}
