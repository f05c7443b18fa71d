/**
 * The autoscaling loop, for real, on one machine: a burst of async orders through the gateway (autocannon) builds
 * Kafka consumer lag; the real KEDA reads it and drives its HPA; the real controller manager scales the
 * order-consumer Deployment; the real scheduler binds the new pods to the local node, where the local node agent
 * runs each as a real order-consumer process; they drain the lag; the HPA scales back in. Sampled every second
 * from the broker, the API server, the agent, the database and /proc.
 *
 * The services the load goes through (product, order API, gateway) are the benchmark's own copies (BenchStack):
 * fresh databases and topics named after the run on the local MariaDB and Kafka, rate limits off.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { Kafka } from 'kafkajs';
import { KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { BenchStack, checkInfra, infraSettings, kafkaClient, REPO_ROOT, type Infra } from '../bench/stack';
import { runLoad, type LoadResult } from '../bench/load';
import { LocalNodeAgent, type LocalProcessSpec } from '../local-node/agent';
import {
  applyManifests, checkCluster, consumerManifests, deleteNamespace, deleteOneConsumerPod, kubectl, KUBECONFIG, LOCAL_NODE, LOCAL_NODE_LABELS,
  LOCAL_NODE_TAINT, scalingStatus, type ScalingStatus,
} from './cluster';
import { ExperimentPrometheus, prometheusBinary, type DashboardQueryResult } from './prometheus';

export interface AutoscalingOptions {
  /** Async orders in the burst. */
  readonly orders: number;
  /** autocannon connections of the burst. */
  readonly connections: number;
  readonly products: number;
  /** Units per order line: 1; stock is large enough that no order is refused for stock. */
  readonly stockPerProduct: number;
  /** The ScaledObject's lagThreshold; undefined: the app's (kind: 100). */
  readonly lagThreshold?: string;
  readonly maxReplicas?: number;
  /** KEDA polling interval (the app's kind value is 15 s). */
  readonly pollingIntervalSeconds: number;
  /** HPA scale-down stabilization: short, so scale-in happens while messages are still in flight. */
  readonly scaleDownStabilizationSeconds: number;
  /** Delete one consumer pod (as `kubectl delete pod` would) once the HPA asks for this many, while lag remains. */
  readonly deletePodAtReplicas?: number;
  /** Give up waiting for drain + scale-in after this long. */
  readonly timeoutSeconds: number;
  /** Scrape the services with a real Prometheus and run the order pipeline dashboard's queries. */
  readonly prometheus: boolean;
  readonly workRoot: string;
  readonly log: (line: string) => void;
  /** Aborts the run (Ctrl-C): cleanup still runs. */
  readonly signal?: AbortSignal;
}

export interface Sample {
  /** Seconds since the burst started. */
  readonly t: number;
  readonly lag: number;
  readonly lagByPartition: readonly number[];
  readonly kedaMetric: number | null;
  readonly hpaDesired: number | null;
  readonly hpaCurrent: number | null;
  readonly deploymentReplicas: number | null;
  readonly readyPods: number;
  /** order-consumer processes the agent runs (each checked in /proc). */
  readonly processes: number;
  /** Orders in the run's database, any status (accepted so far). */
  readonly accepted: number;
  /** Orders confirmed or rejected so far. */
  readonly decided: number;
  readonly decidedPerSecond: number;
  /** Machine CPU busy over the last second, % of all cores. */
  readonly cpuPercent: number;
}

export interface ExperimentEvent {
  readonly t: number;
  readonly kind: 'burst-start' | 'burst-end' | 'scale-up' | 'scale-in' | 'consumer-started' | 'consumer-ready' | 'consumer-stopped' | 'pod-deleted' | 'drained';
  readonly detail: string;
}

export interface AutoscalingResult {
  readonly schema: 1;
  readonly startedAt: string;
  readonly kubernetesVersion: string;
  readonly kedaVersion: string;
  readonly machine: { readonly cpus: number; readonly memoryGiB: number; readonly node: string };
  readonly settings: Omit<AutoscalingOptions, 'log' | 'signal' | 'workRoot'> & { readonly lagThreshold: string; readonly partitions: number; readonly minReplicas: number; readonly maxReplicas: number };
  readonly load: LoadResult;
  readonly maxDesiredReplicas: number;
  /** Lag over the threshold → first new consumer Ready. */
  readonly scaleUpSeconds: number | null;
  /** End of the burst → lag 0 and every accepted order decided. */
  readonly drainSeconds: number | null;
  readonly finalLag: number;
  readonly accepted: number;
  readonly decided: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly oversold: number;
  readonly scaleInEvents: number;
  readonly deadLettered: number;
  /** order.confirmed / order.rejected events on the topic (one per decided order; more would be a duplicate). */
  readonly decisionEvents: number;
  readonly stock: { readonly initial: number; readonly remaining: number; readonly confirmedUnits: number; readonly consistent: boolean };
  readonly samples: readonly Sample[];
  readonly events: readonly ExperimentEvent[];
  readonly prometheus: readonly DashboardQueryResult[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Busy and total jiffies of all CPUs (/proc/stat). */
function cpuTimes(): { busy: number; total: number } {
  const [line] = readFileSync('/proc/stat', 'utf8').split('\n');
  const n = line!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Committed lag of a group per partition: high watermark − committed offset (nothing committed: − low watermark). */
export async function lagByPartition(kafka: Kafka, topic: string, group: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const offsets = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    return ends
      .sort((a, b) => a.partition - b.partition)
      .map((p) => {
        const c = offsets.get(p.partition) ?? -1;
        return Math.max(0, Number(p.high) - (c >= 0 ? c : Number(p.low)));
      });
  } finally {
    await admin.disconnect();
  }
}

/** Decision events (order.confirmed / order.rejected) per order on the topic, from the beginning to the end. */
async function decisionEventsPerOrder(kafka: Kafka, topic: string): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, Number(p.high)]));
  for (const [p, high] of remaining) if (high === 0) remaining.delete(p);
  const counts = new Map<string, number>();
  if (remaining.size === 0) return counts;
  // A group of its own that the run's cleanup deletes with the topic (BenchStack removes the run's topics).
  const consumer = kafka.consumer({ groupId: `${topic}-audit` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end took over 60 s`)), 60_000);
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const type = (JSON.parse(message.value?.toString() ?? '{}') as { type?: string }).type;
        if (type === 'order.confirmed' || type === 'order.rejected') {
          const key = message.key?.toString() ?? '';
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  return counts;
}

async function messagesIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The metrics port of each consumer pod the agent runs (pod uid → port), for Prometheus. */
const consumerPorts = new Map<string, number>();

/** How a consumer pod's container runs on the local node: the built service, on Node 24, with the pod's env. */
function consumerProcess(pod: V1Pod, container: V1Container, env: Record<string, string>, port: number): LocalProcessSpec {
  consumerPorts.set(pod.metadata?.uid ?? '', port);
  const repo = /(?:^|\/)eshop\/([a-z-]+)(?::|@|$)/.exec(container.image ?? '')?.[1];
  if (!repo) throw new Error(`pod ${pod.metadata?.name}: image ${container.image} is not one of ours`);
  const cwd = path.join(REPO_ROOT, 'services', repo);
  const [command, ...args] = [...(container.command ?? []), ...(container.args ?? [])];
  if (command !== 'node') throw new Error(`pod ${pod.metadata?.name}: expected a node command, got ${command}`);
  return {
    file: process.execPath,
    args: ['--disable-warning=TimeoutNegativeWarning', ...args],
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
      ...env,
      // Every pod has its own address in a cluster; here they share one, so each gets a port of its own.
      ORDER_CONSUMER_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    readinessUrl: `http://127.0.0.1:${port}/readyz`,
  };
}

function loadAppDocs(): Record<string, any>[] {
  // cdk8s/src is TypeScript: loaded through the repo's swc hook, as test/k8s does.
  require(path.join(REPO_ROOT, 'test/k8s/support/register-ts.js'));
  const { synthEnvironment } = require(path.join(REPO_ROOT, 'cdk8s/src/synth.ts')) as { synthEnvironment: (env: string) => Record<string, any>[] };
  return synthEnvironment('kind');
}

export async function runAutoscalingExperiment(o: AutoscalingOptions): Promise<AutoscalingResult> {
  const infra: Infra = infraSettings();
  await checkInfra(infra);
  const { kubernetesVersion, kedaVersion } = await checkCluster();
  if (o.prometheus) prometheusBinary();
  const startedAt = new Date().toISOString();
  mkdirSync(o.workRoot, { recursive: true });
  const stack = new BenchStack(infra, o.workRoot, 'warn', o.log);
  const namespace = `eshop-autoscaling-${stack.runId}`;
  const kafka = kafkaClient(infra, 'eshop-autoscaling-experiment');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(KUBECONFIG);
  let agent: LocalNodeAgent | undefined;
  let prometheus: ExperimentPrometheus | undefined;
  // Events keep their wall-clock time until the burst's start (t = 0) is known; set-up events get negative times.
  const stamped: { at: number; kind: ExperimentEvent['kind']; detail: string }[] = [];
  let t0 = Date.now();
  const now = () => Math.round((Date.now() - t0) / 100) / 10;
  const event = (kind: ExperimentEvent['kind'], detail: string) => {
    stamped.push({ at: Date.now(), kind, detail });
    o.log(`t=${now()}s ${kind} ${detail}`);
  };
  const aborted = () => o.signal?.aborted === true;
  // Whatever ends the run (drained, an error, Ctrl-C), the sampler stops and its connection closes in `finally`.
  let stopSampling: () => Promise<void> = async () => undefined;

  try {
    o.log(`run ${stack.runId}: databases, topics (${infra.partitions} partitions) and the services (product, order API, gateway)`);
    await stack.prepare();
    const product = await stack.start('product');
    await stack.start('order');
    const gateway = await stack.start('gateway');

    const appDocs = loadAppDocs();
    const manifests = consumerManifests(appDocs, {
      namespace,
      brokers: infra.kafkaBrokers.join(','),
      topic: stack.topics.order,
      dlqTopic: stack.topics.dlq,
      group: stack.consumerGroup,
      db: { ...infra.db, name: stack.orderDb },
      productServiceUrl: product.url,
      pollingIntervalSeconds: o.pollingIntervalSeconds,
      scaleDownStabilizationSeconds: o.scaleDownStabilizationSeconds,
      ...(o.lagThreshold ? { lagThreshold: o.lagThreshold } : {}),
      ...(o.maxReplicas ? { maxReplicas: o.maxReplicas } : {}),
    });
    const scaledObject = manifests.find((d) => d.kind === 'ScaledObject')!;
    const lagThreshold = String(scaledObject.spec.triggers[0].metadata.lagThreshold);
    const minReplicas = Number(scaledObject.spec.minReplicaCount ?? 1);
    const maxReplicas = Number(scaledObject.spec.maxReplicaCount);

    agent = new LocalNodeAgent({
      kubeConfig,
      nodeName: LOCAL_NODE,
      labels: { ...LOCAL_NODE_LABELS },
      taints: [{ ...LOCAL_NODE_TAINT }],
      capacity: { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 2 ** 30)}Gi`, pods: '32' },
      logDir: path.join(stack.workDir, 'logs'),
      toProcess: consumerProcess,
    });
    const scrapeConsumers = () =>
      prometheus?.setConsumers(agent!.running().map((p) => `127.0.0.1:${consumerPorts.get(p.uid)}`).filter((t) => !t.endsWith(':undefined')));
    agent.on('started', (e) => {
      event('consumer-started', `${e.pod} pid ${e.pid}`);
      scrapeConsumers();
    });
    agent.on('ready', (e) => event('consumer-ready', `${e.pod} pid ${e.pid}`));
    agent.on('stopped', (e) => {
      event('consumer-stopped', `${e.pod} pid ${e.pid} exit ${e.exitCode ?? e.signal}`);
      scrapeConsumers();
    });
    await agent.start();
    await applyManifests(manifests);
    o.log(`applied the order consumers' Deployment, ConfigMap, Secret and ScaledObject to namespace ${namespace}`);

    // Ready to measure: one consumer Ready, KEDA's HPA exists and has read the metric once.
    await until(async () => {
      const s = await scalingStatus(namespace);
      return s.readyPods >= minReplicas && s.hpaDesired !== null && s.kedaMetric !== null;
    }, 120, 'one consumer Ready and KEDA\'s HPA reading the lag', aborted);
    if (o.prometheus) {
      prometheus = await ExperimentPrometheus.start(stack.workDir, {
        gateway: new URL(gateway.url).host,
        product: new URL(product.url).host,
        'order-api': new URL(stack.running('order')[0]!.url).host,
      });
      scrapeConsumers();
    }

    // Products with more stock than the burst can take: every accepted order must be confirmed.
    const admin = await stack.token('autoscaling-admin', ['admin']);
    const productIds: number[] = [];
    for (let i = 0; i < o.products; i++) {
      const res = await fetch(`${gateway.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ name: `Autoscaling ${i}`, description: 'experiment', price: '1.00', stock: o.stockPerProduct }),
      });
      if (res.status !== 201) throw new Error(`creating a product answered ${res.status}: ${await res.text()}`);
      productIds.push(((await res.json()) as { id: number }).id);
    }
    const customer = 'autoscaling-customer';
    const token = await stack.token(customer, ['customer']);

    const db = await mysql.createConnection({ ...infra.db, database: stack.orderDb });
    const samples: Sample[] = [];
    let sampling = true;
    let prevCpu = cpuTimes();
    let prevDecided = 0;
    let prevDesired: number | null = null;
    let scaleInEvents = 0;
    let deletedPod: string | undefined;
    t0 = Date.now();
    const sampler = (async () => {
      while (sampling) {
        const tick = Date.now();
        try {
          const [lags, status, counts] = await Promise.all([
            lagByPartition(kafka, stack.topics.order, stack.consumerGroup),
            scalingStatus(namespace),
            db.query("SELECT COUNT(*) AS accepted, SUM(status IN ('confirmed', 'rejected')) AS decided FROM orders"),
          ]);
          const row = (counts[0] as { accepted: number; decided: number | null }[])[0]!;
          const cpu = cpuTimes();
          const decided = Number(row.decided ?? 0);
          const sample: Sample = {
            t: now(),
            lag: lags.reduce((a, b) => a + b, 0),
            lagByPartition: lags,
            kedaMetric: status.kedaMetric,
            hpaDesired: status.hpaDesired,
            hpaCurrent: status.hpaCurrent,
            deploymentReplicas: status.deploymentReplicas,
            readyPods: status.readyPods,
            processes: agent!.running().filter((p) => processAlive(p.pid)).length,
            accepted: Number(row.accepted),
            decided,
            decidedPerSecond: Math.max(0, decided - prevDecided),
            cpuPercent: Math.round((1000 * (cpu.busy - prevCpu.busy)) / Math.max(1, cpu.total - prevCpu.total)) / 10,
          };
          prevCpu = cpu;
          prevDecided = decided;
          samples.push(sample);
          noteScaling(status, sample);
        } catch (err) {
          o.log(`sample failed: ${(err as Error).message}`);
        }
        await sleep(Math.max(0, 1000 - (Date.now() - tick)));
      }
    })();
    let dbOpen = true;
    stopSampling = async () => {
      sampling = false;
      await sampler;
      if (dbOpen) {
        dbOpen = false;
        await db.end().catch(() => undefined);
      }
    };
    function noteScaling(status: ScalingStatus, sample: Sample): void {
      if (status.hpaDesired !== null && prevDesired !== null && status.hpaDesired !== prevDesired) {
        const up = status.hpaDesired > prevDesired;
        if (!up) scaleInEvents++;
        event(up ? 'scale-up' : 'scale-in', `HPA desired ${prevDesired} → ${status.hpaDesired} (lag ${sample.lag}, KEDA metric ${sample.kedaMetric})`);
      }
      prevDesired = status.hpaDesired ?? prevDesired;
      // As soon as the HPA asks for that many consumers the backlog is at its height: the pod deleted then (the one
      // that has been consuming from the start, or a new one) has work in flight.
      if (o.deletePodAtReplicas !== undefined && deletedPod === undefined && (status.hpaDesired ?? 0) >= o.deletePodAtReplicas && sample.lag > 0) {
        deletedPod = 'pending';
        void deleteOneConsumerPod(namespace).then((name) => {
          deletedPod = name ?? 'none';
          if (name) event('pod-deleted', `${name} (kubectl delete pod: SIGTERM, then its grace period)`);
        });
      }
    }

    event('burst-start', `${o.orders} async orders, ${o.connections} connections, through the gateway`);
    let n = 0;
    const load = await runLoad({
      title: 'async burst',
      origin: gateway.url,
      connections: o.connections,
      amount: o.orders,
      maxSeconds: 300,
      ...(o.signal ? { signal: o.signal } : {}),
      request: {
        method: 'POST',
        path: '/orders/async',
        vary: () => ({ body: JSON.stringify({ user_id: customer, items: [{ product_id: productIds[n++ % productIds.length], quantity: 1 }] }) }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
    });
    const burstEnd = now();
    event('burst-end', `${load.statuses['202'] ?? 0} accepted (202), ${load.responses - (load.statuses['202'] ?? 0)} other answers, ${load.errors} errors`);
    const accepted = load.statuses['202'] ?? 0;
    if (aborted()) throw new Error('aborted (Ctrl-C) after the burst: cleaning up');

    // Drained: lag 0 and every accepted order decided; then back to the minimum replicas (scale-in).
    let drainedAt: number | null = null;
    await until(async () => {
      const last = samples.at(-1);
      if (!last) return false;
      if (drainedAt === null && last.lag === 0 && last.decided >= accepted) {
        drainedAt = last.t;
        event('drained', `lag 0, ${last.decided} orders decided`);
      }
      return drainedAt !== null && last.hpaDesired === minReplicas && last.readyPods === minReplicas && last.processes === minReplicas;
    }, o.timeoutSeconds, 'the lag to drain and the consumers to scale back in', aborted).catch((err: Error) => o.log(err.message));
    await stopSampling();

    // The dashboard as it looked at the highest lag (where every panel has something to show).
    const peak = samples.reduce((best, s) => (s.lag > (best?.lag ?? -1) ? s : best), samples[0]);
    const queries = prometheus && peak ? await prometheus.dashboardQueries(new Date(t0 + peak.t * 1000)) : [];
    const invariants = await checkOrders(infra, stack.orderDb, stack.productDb, productIds, o.stockPerProduct);
    const decisions = await decisionEventsPerOrder(kafka, stack.topics.order);
    const duplicatedEvents = [...decisions.values()].filter((c) => c > 1).length;
    const decisionEvents = [...decisions.values()].reduce((a, b) => a + b, 0);
    const events: ExperimentEvent[] = stamped.map((e) => ({ t: Math.round((e.at - t0) / 100) / 10, kind: e.kind, detail: e.detail }));
    const deadLettered = await messagesIn(kafka, stack.topics.dlq);

    const threshold = Number(lagThreshold);
    const overAt = samples.find((s) => s.lag > threshold)?.t ?? null;
    const firstNewReady = overAt === null ? undefined : events.find((e) => e.kind === 'consumer-ready' && e.t >= overAt);
    const last = samples.at(-1);
    return {
      schema: 1,
      startedAt,
      kubernetesVersion,
      kedaVersion,
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      settings: {
        orders: o.orders, connections: o.connections, products: o.products, stockPerProduct: o.stockPerProduct,
        pollingIntervalSeconds: o.pollingIntervalSeconds, scaleDownStabilizationSeconds: o.scaleDownStabilizationSeconds,
        ...(o.deletePodAtReplicas !== undefined ? { deletePodAtReplicas: o.deletePodAtReplicas } : {}),
        timeoutSeconds: o.timeoutSeconds, prometheus: o.prometheus,
        lagThreshold, partitions: infra.partitions, minReplicas, maxReplicas,
      },
      load,
      maxDesiredReplicas: Math.max(0, ...samples.map((s) => s.hpaDesired ?? 0)),
      scaleUpSeconds: overAt !== null && firstNewReady ? Math.round((firstNewReady.t - overAt) * 10) / 10 : null,
      drainSeconds: drainedAt !== null ? Math.round(((drainedAt as number) - burstEnd) * 10) / 10 : null,
      finalLag: last?.lag ?? -1,
      accepted,
      decided: invariants.decided,
      lost: Math.max(0, accepted - invariants.decided),
      duplicated: duplicatedEvents + invariants.doubleReserved,
      oversold: invariants.oversold,
      scaleInEvents,
      deadLettered,
      decisionEvents,
      stock: invariants.stock,
      samples,
      events,
      prometheus: queries,
    };
  } finally {
    await stopSampling();
    await prometheus?.stop().catch(() => undefined);
    // The namespace first, while the agent still runs: it stops each pod's process and confirms the deletion, as a
    // kubelet does (without it the pods would stay Terminating).
    await deleteNamespace(namespace);
    await agent?.stop().catch((err: Error) => o.log(`stopping the node agent: ${err.message}`));
    // The local node goes with the run (a NotReady node left behind would only collect taints).
    await kubectl(['delete', 'node', LOCAL_NODE, '--ignore-not-found']).catch(() => undefined);
    await kubectl(['-n', 'kube-node-lease', 'delete', 'lease', LOCAL_NODE, '--ignore-not-found']).catch(() => undefined);
    await stack.cleanup(false).catch((err: Error) => o.log(`cleanup: ${err.message}`));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => Promise<boolean>, seconds: number, what: string, aborted: () => boolean): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (aborted()) throw new Error(`aborted while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`gave up after ${seconds} s waiting for ${what}`);
}

/** What the databases say once the run drained: decisions, stock arithmetic, reservations. */
async function checkOrders(infra: Infra, orderDb: string, productDb: string, productIds: number[], stockPerProduct: number) {
  const db = await mysql.createConnection({ ...infra.db, database: orderDb });
  const [orders] = await db.query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status");
  const byStatus = Object.fromEntries((orders as { status: string; n: number }[]).map((r) => [r.status, Number(r.n)]));
  const [units] = await db.query("SELECT COALESCE(SUM(i.quantity), 0) AS units FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status = 'confirmed'");
  const confirmedUnits = Number((units as { units: number }[])[0]!.units);
  await db.end();
  const pdb = await mysql.createConnection({ ...infra.db, database: productDb });
  try {
    const [stock] = await pdb.query('SELECT COALESCE(SUM(stock), 0) AS remaining, COALESCE(SUM(stock < 0), 0) AS negative FROM products WHERE id IN (?)', [productIds]);
    const { remaining, negative } = (stock as { remaining: number; negative: number }[])[0]!;
    const [reserved] = await pdb.query("SELECT COALESCE(SUM(ri.quantity), 0) AS units FROM reservation_items ri JOIN reservations r ON r.order_id = ri.order_id WHERE r.status = 'reserved'");
    const reservedUnits = Number((reserved as { units: number }[])[0]!.units);
    const initial = stockPerProduct * productIds.length;
    const consumed = initial - Number(remaining);
    return {
      decided: (byStatus['confirmed'] ?? 0) + (byStatus['rejected'] ?? 0),
      // Stock taken beyond what confirmed orders hold: an order reserved twice (or a leak).
      doubleReserved: Math.max(0, consumed - confirmedUnits),
      oversold: Number(negative) + Math.max(0, confirmedUnits - initial),
      stock: { initial, remaining: Number(remaining), confirmedUnits, consistent: consumed === confirmedUnits && reservedUnits === confirmedUnits },
    };
  } finally {
    await pdb.end();
  }
}
