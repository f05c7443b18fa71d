import { AutoscalerStatus, ClusterClient, FINAL_STAGES, Manifest } from './cluster-client';

/** One observation of the pipeline. */
export interface Sample {
  /** Seconds since the TestRun was created. */
  readonly t: number;
  readonly stage: string | null;
  readonly lag: number | null;
  readonly replicasDesired: number | null;
  readonly replicasReady: number | null;
  readonly hpaDesired: number | null;
  readonly scalerActive: boolean | null;
  /** k6 requests/s over the last 30 s (from remote-write series of this testid). */
  readonly requestRate: number | null;
  /** k6 p95 of http_req_duration, seconds. */
  readonly p95: number | null;
}

export type Outcome = 'drained' | 'timeout';

export interface ExperimentResult {
  readonly scenario: string;
  readonly testId: string;
  readonly namespace: string;
  readonly testRun: string;
  readonly startedAt: string;
  readonly outcome: Outcome;
  /** Final stage of the TestRun (finished / error), null if it never ended. */
  readonly finalStage: string | null;
  /** Seconds from creation to the TestRun's final stage. */
  readonly testEndedAt: number | null;
  /** Seconds from creation until lag was back at or below the drain threshold after the test ended. */
  readonly drainedAt: number | null;
  readonly samples: readonly Sample[];
  readonly queries: Readonly<Record<string, string>>;
}

export interface ExperimentOptions {
  readonly client: ClusterClient;
  readonly namespace: string;
  readonly scenario: string;
  /** The TestRun from the synthesized manifest (cdk8s/dist/loadtests/<env>/); its testid is replaced by `testId`. */
  readonly testRun: Manifest;
  /** The scripts' ConfigMap from the same manifest, applied first. */
  readonly scripts?: Manifest;
  readonly testId: string;
  /** @default 'order-consumer' */
  readonly deployment?: string;
  /** Seconds between samples. @default 10 */
  readonly intervalSeconds?: number;
  /** Give up after this many seconds. @default 3600 */
  readonly timeoutSeconds?: number;
  /** Lag at or below this counts as drained. @default 10 */
  readonly drainedLag?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

export const LAG_QUERY = 'sum(kafka_consumergroup_lag{consumergroup="order-consumers",topic="order-events"})';

export function queriesFor(testId: string): Record<'lag' | 'requestRate' | 'p95', string> {
  return {
    lag: LAG_QUERY,
    requestRate: `sum(rate(k6_http_reqs_total{testid="${testId}"}[30s]))`,
    p95: `max(k6_http_req_duration_p95{testid="${testId}"})`,
  };
}

/** The TestRun with TEST_ID and `--tag testid=` set to this run's id (the synthesized one carries the scenario name). */
export function withTestId(testRun: Manifest, testId: string): Manifest {
  const copy = JSON.parse(JSON.stringify(testRun)) as Manifest & { spec: { arguments?: string; runner?: { env?: { name: string; value?: string }[] } } };
  const args = copy.spec.arguments ?? '';
  copy.spec.arguments = /--tag testid=\S+/.test(args) ? args.replace(/--tag testid=\S+/, `--tag testid=${testId}`) : `${args} --tag testid=${testId}`.trim();
  const env = (copy.spec.runner ??= {}).env ?? [];
  copy.spec.runner.env = [...env.filter((e) => e.name !== 'TEST_ID'), { name: 'TEST_ID', value: testId }];
  return copy;
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/**
 * Starts the TestRun, then samples replicas, autoscaler, lag, k6 rate and p95 every interval until the
 * TestRun reached a final stage AND lag is back at or below `drainedLag` — or the timeout passes.
 */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const interval = (o.intervalSeconds ?? 10) * 1000;
  const timeout = o.timeoutSeconds ?? 3600;
  const drainedLag = o.drainedLag ?? 10;
  const deployment = o.deployment ?? 'order-consumer';
  const name = o.testRun.metadata.name;
  const queries = queriesFor(o.testId);

  if (o.scripts) await o.client.applyConfigMap(o.namespace, o.scripts);
  await o.client.deleteTestRun(o.namespace, name);
  await o.client.createTestRun(o.namespace, withTestId(o.testRun, o.testId));
  const start = now();
  const startedAt = new Date(start).toISOString();
  log(`TestRun ${o.namespace}/${name} created, testid=${o.testId}`);

  const samples: Sample[] = [];
  let finalStage: string | null = null;
  let testEndedAt: number | null = null;
  let seen = false;
  for (;;) {
    const t = Math.round((now() - start) / 1000);
    const [stage, replicas, scaler, lag, requestRate, p95] = await Promise.all([
      o.client.testRunStage(o.namespace, name),
      o.client.deploymentReplicas(o.namespace, deployment),
      o.client.autoscaler(o.namespace, deployment).catch((): AutoscalerStatus | undefined => undefined),
      o.client.query(queries.lag),
      o.client.query(queries.requestRate),
      o.client.query(queries.p95),
    ]);
    const sample: Sample = {
      t,
      stage: orNull(stage),
      lag: orNull(lag),
      replicasDesired: replicas ? replicas.desired : null,
      replicasReady: replicas ? replicas.ready : null,
      hpaDesired: scaler ? scaler.desiredReplicas : null,
      scalerActive: scaler?.active ?? null,
      requestRate: orNull(requestRate),
      p95: orNull(p95),
    };
    samples.push(sample);
    log(`t=${t}s stage=${sample.stage} lag=${sample.lag} replicas=${sample.replicasReady}/${sample.replicasDesired} hpa=${sample.hpaDesired} rps=${sample.requestRate?.toFixed(1)} p95=${sample.p95}`);
    if (stage !== undefined) seen = true;
    // cleanup: post deletes the TestRun once it is done: gone after having been seen counts as finished.
    const ended = stage !== undefined ? FINAL_STAGES.includes(stage) : seen;
    if (finalStage === null && ended) {
      finalStage = stage ?? 'finished (deleted by cleanup: post)';
      testEndedAt = t;
    }
    if (finalStage !== null && lag !== undefined && lag <= drainedLag) {
      return { scenario: o.scenario, testId: o.testId, namespace: o.namespace, testRun: name, startedAt, outcome: 'drained', finalStage, testEndedAt, drainedAt: t, samples, queries };
    }
    if (t >= timeout) {
      return { scenario: o.scenario, testId: o.testId, namespace: o.namespace, testRun: name, startedAt, outcome: 'timeout', finalStage, testEndedAt, drainedAt: null, samples, queries };
    }
    await sleep(interval);
  }
}
