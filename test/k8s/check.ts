/**
 * `npm run k8s:check`: the Kubernetes checks of test/k8s as one command with a readable summary, to run before
 * `helm install` / `skaffold run`. Same functions as the jest suites; exit code 1 on any failure.
 *
 *   npm run k8s:check                  every platform scenario, both app environments, cross-layer
 *   npm run k8s:check -- kind          only what concerns kind (ci/kind scenario, kind app, kind pairing)
 *
 * It needs the local Kubernetes control plane of local/cluster.sh: every document is judged by its API server
 * (a server-side dry run, strict field validation, PodSecurity restricted, in namespace eshop-validate; nothing is
 * stored). The control plane is started when it does not answer (`local/cluster.sh up --no-deploy`, ~10 s;
 * its first build needs Go and the module proxy).
 */
import path from 'node:path';
import { checkAutoscalingAgreement, checkCrossLayer } from './support/cross-layer';
import { checkPolicies, formatViolation, secretsNotGenerated } from './support/policies';
import { ENVIRONMENTS, platformScenarioFor, platformScenarios, platformValues, renderPlatform, ROOT, synthApp, type Environment, type Manifest, type PlatformRender } from './support/render';
import { formatServerError, validateOnServer, VALIDATION_NAMESPACE } from './support/server-validation';

interface Outcome {
  label: string;
  summary: string;
  failures: string[];
}

const USAGE = `usage: npm run k8s:check [-- kind|eks]

Renders every platform chart scenario (charts/eshop-platform/ci) and the cdk8s app, then checks them:
helm lint --strict, every document dry-run on the API server of the local Kubernetes control plane
(strict field validation, PodSecurity restricted; namespace ${VALIDATION_NAMESPACE}, nothing stored),
the policies the server cannot judge, and the references between the two layers.

Needs the local control plane (local/cluster.sh): started if it does not answer, ~10 s.
`;
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const a of only) if (!(ENVIRONMENTS as readonly string[]).includes(a)) throw new Error(`unknown environment "${a}": use ${ENVIRONMENTS.join(' or ')}`);
const envs = (only.length ? only : ENVIRONMENTS) as Environment[];

const total = (checked: Record<string, number>): number => Object.values(checked).reduce((a, b) => a + b, 0);

function run(label: string, body: () => Omit<Outcome, 'label'>): Outcome {
  const started = Date.now();
  let outcome: Outcome;
  try {
    outcome = { label, ...body() };
  } catch (e) {
    outcome = { label, summary: 'could not run', failures: [(e as Error).message] };
  }
  const mark = outcome.failures.length ? 'FAIL' : 'ok  ';
  process.stdout.write(`${mark} ${label}: ${outcome.summary} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  for (const f of outcome.failures) process.stdout.write(`       - ${f.replace(/\n/g, '\n         ')}\n`);
  return outcome;
}

function documents(docs: Manifest[]): { summary: string; failures: string[] } {
  const errors = validateOnServer(docs).map(formatServerError);
  const policies = checkPolicies(docs);
  const checked = Object.entries(policies.checked).map(([k, v]) => `${k} ${v}`).join(', ');
  return {
    summary: `${docs.length} documents dry-run on the API server${errors.length ? ` (${errors.length} refused)` : ''}, ${total(policies.checked)} policy checks [${checked}]`,
    failures: [...errors, ...policies.violations.map(formatViolation)],
  };
}

const outcomes: Outcome[] = [];
const renders = new Map<string, PlatformRender>();
const scenarios = platformScenarios().filter((s) => only.length === 0 || (envs as string[]).includes(s.name));
for (const scenario of scenarios) {
  const files = scenario.valuesFiles.map((f) => path.relative(path.join(ROOT, 'charts/eshop-platform'), f)).join(' + ');
  outcomes.push(
    run(`platform ${scenario.name} (${files})`, () => {
      const render = renderPlatform(scenario);
      renders.set(scenario.name, render);
      const docs = documents(render.docs);
      const secrets = secretsNotGenerated(render.docs, render.again);
      return { summary: `helm lint --strict ok, ${docs.summary}, ${secrets.checked} generated credentials`, failures: [...docs.failures, ...secrets.problems] };
    }),
  );
}
for (const env of envs) {
  let app: Manifest[] = [];
  outcomes.push(
    run(`cdk8s app ${env}`, () => {
      app = synthApp(env);
      return documents(app);
    }),
  );
  outcomes.push(
    run(`cross-layer ${env} app ↔ platform ${env}`, () => {
      const scenario = platformScenarioFor(env);
      const platform = (renders.get(env) ?? renderPlatform(scenario)).docs;
      const cross = checkCrossLayer(app, platform);
      const autoscaling = checkAutoscalingAgreement(app, platformValues(scenario));
      const combined = checkPolicies([...platform, ...app], { complete: true });
      return {
        summary: `${total(cross.checked)} references checked [${Object.entries(cross.checked).map(([k, v]) => `${k} ${v}`).join(', ')}]`,
        failures: [...cross.problems, ...autoscaling, ...combined.violations.map(formatViolation)],
      };
    }),
  );
}

const failed = outcomes.filter((o) => o.failures.length > 0);
process.stdout.write(`\nk8s:check: ${outcomes.length - failed.length}/${outcomes.length} passed${failed.length ? `; failing: ${failed.map((o) => o.label).join('; ')}` : ''}\n`);
process.stdout.write('(skaffold.yaml and the cdk8s Helm packaging are checked by the jest suites in test/k8s)\n');
process.exitCode = failed.length ? 1 : 0;
