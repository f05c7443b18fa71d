/**
 * The vendored schemas in test/k8s/schemas are upstream files, byte for byte: every one is listed in
 * UPSTREAM.md with the git blob it has upstream, and still has it. An edited or unlisted CRD would be installed
 * on the cluster and judge manifests by rules nobody published.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const DIR = path.join(__dirname, 'schemas');

const gitBlob = (file: string): string => {
  const content = readFileSync(file);
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
};

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });

/** `| crds/keda/x.yaml | … | <40 hex> |` and `| skaffold/x.json | … | <40 hex> |` rows of UPSTREAM.md. */
function upstreamBlobs(): Map<string, string> {
  const blobs = new Map<string, string>();
  for (const line of readFileSync(path.join(DIR, 'UPSTREAM.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const file = cells[1] ?? '';
    const blob = cells[cells.length - 2] ?? '';
    if (/^[0-9a-f]{40}$/.test(blob) && /\.(json|yaml)$/.test(file)) blobs.set(file, blob);
  }
  return blobs;
}

describe('vendored schemas (test/k8s/schemas)', () => {
  const vendored = filesUnder(DIR)
    .map((f) => path.relative(DIR, f).split(path.sep).join('/'))
    .filter((f) => f !== 'README.md' && f !== 'UPSTREAM.md');

  it('are all listed in UPSTREAM.md', () => {
    const listed = upstreamBlobs();
    expect(vendored.filter((f) => f.startsWith('crds/')).length).toBeGreaterThanOrEqual(14);
    expect(vendored.filter((f) => !listed.has(f))).toEqual([]);
  });

  it('are byte-identical to the upstream files UPSTREAM.md names (same git blob)', () => {
    const listed = upstreamBlobs();
    const changed = vendored.filter((f) => gitBlob(path.join(DIR, f)) !== listed.get(f));
    expect(changed).toEqual([]);
  });
});
