import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkPolicies, formatViolation, literalCredentialsInSource } from './support/policies';
import { ENVIRONMENTS, lintChart, ROOT, synthApp, templateChart, type Manifest } from './support/render';
import { formatServerError, validateOnServer } from './support/server-validation';

/** The application layer (cdk8s) per environment: accepted by the API server (strict), policies pass, and its Helm packaging works. */
describe.each(ENVIRONMENTS)('cdk8s app, environment %s', (env) => {
  let docs: Manifest[];
  beforeAll(() => {
    docs = synthApp(env);
  });

  it('synthesizes the four workloads, every document accepted by the API server (strict dry run, PodSecurity restricted)', () => {
    const deployments = docs.filter((d) => d['kind'] === 'Deployment').map((d) => (d['metadata'] as { name: string }).name);
    expect(deployments.sort()).toEqual(['gateway', 'order-api', 'order-consumer', 'product']);
    expect(validateOnServer(docs).map(formatServerError)).toEqual([]);
  });

  it('passes the policy checks (resources, probes, securityContext, PDBs, one scaler per Deployment, tags, no literal secrets)', () => {
    const report = checkPolicies(docs);
    expect(report.violations.map(formatViolation)).toEqual([]);
    expect(report.checked).toMatchObject({ pdb: 4, probes: 4 });
  });
});

it('no cdk8s source or config writes down a password or token', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const full = path.join(dir, f);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) files.push(full);
    }
  };
  walk(path.join(ROOT, 'cdk8s/src'));
  expect(files.length).toBeGreaterThan(0);
  expect(files.flatMap((f) => literalCredentialsInSource(readFileSync(f, 'utf8')).map((m) => `${path.relative(ROOT, f)}: ${m}`))).toEqual([]);
});

describe('cdk8s app packaged as Helm charts (npm run -w cdk8s synth:helm)', () => {
  beforeAll(() => {
    // A packaged eks chart goes to `helm install` as is, so it needs the registry its images are pulled from.
    const env = { ...process.env, ESHOP_IMAGE_REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' };
    execFileSync('npm', ['run', '--silent', '-w', 'cdk8s', 'synth:helm'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  }, 120_000);

  it.each(ENVIRONMENTS)('%s: lints --strict and templates the same documents as the in-memory synth', (env) => {
    const chart = path.join(ROOT, 'cdk8s/dist/helm', env);
    expect(lintChart(chart)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    const rendered = templateChart(chart, 'eshop-app');
    expect(validateOnServer(rendered).map(formatServerError)).toEqual([]);
    const id = (d: Manifest): string => `${String(d['kind'])}/${String((d['metadata'] as { name?: string }).name)}`;
    expect(rendered.map(id).sort()).toEqual(synthApp(env).map(id).sort());
  });

  // Last: the refused run leaves dist/helm/eks behind half-written (cdk8s synth empties its output first).
  it('refuses to package the eks chart without ESHOP_IMAGE_REGISTRY (nothing would rewrite the bare image names)', () => {
    const env = { ...process.env };
    delete env['ESHOP_IMAGE_REGISTRY'];
    const run = spawnSync('node', ['scripts/synth-helm.mjs', 'eks'], { cwd: path.join(ROOT, 'cdk8s'), env, encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/ESHOP_IMAGE_REGISTRY is not set/);
  }, 60_000);
});
