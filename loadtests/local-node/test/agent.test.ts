/**
 * The local node agent against the local control plane of local/cluster.sh: a real API server, the real scheduler
 * binding pods to the agent's node, the real Deployment/ReplicaSet and node lifecycle controllers, and real local
 * processes (fake-service.js). Each run has a node and a namespace of its own; the kwok nodes are not touched.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Deployment, type V1EnvVar, type V1Pod,
} from '@kubernetes/client-node';
import { KUBECONFIG, ensureControlPlane, kubectl, kubectlRun } from '../../../test/k8s/support/local-cluster';
import { type AgentEvent, type AgentEventData, LocalNodeAgent } from '../agent';

const RUN = randomBytes(3).toString('hex');
const NODE = `eshop-local-${RUN}`;
const NS = `eshop-node-${RUN}`;
const TAINT = { key: 'eshop.io/local', value: RUN, effect: 'NoSchedule' };
const FAKE_SERVICE = path.join(__dirname, 'fake-service.js');
const HEARTBEAT_SECONDS = 2;

/** ESHOP_LOCAL_NODE_LOGS=DIR keeps the agent's and the processes' logs there. */
const KEEP_LOGS = process.env['ESHOP_LOCAL_NODE_LOGS'];
const logDir = KEEP_LOGS ? path.join(KEEP_LOGS, RUN) : mkdtempSync(path.join(tmpdir(), 'eshop-local-node-'));
const agentLog: Record<string, unknown>[] = [];
const events: (AgentEventData & { type: AgentEvent })[] = [];
let proxy: ApiProxy;
let agent: LocalNodeAgent;
let core: CoreV1Api;
let apps: AppsV1Api;
let coordination: CoordinationV1Api;

/** A TCP proxy in front of the API server, so that a test can drop the agent's connections. */
interface ApiProxy { port: number; close(): void; outage(ms: number): void }

function apiProxy(target: URL): Promise<ApiProxy> {
  const sockets = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = net.connect(Number(target.port || 443), target.hostname);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { sockets.delete(a); b.destroy(); });
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => { server.close(); for (const s of sockets) s.destroy(); },
    outage: (ms) => {
      refusing = true;
      for (const s of sockets) s.destroy();
      setTimeout(() => { refusing = false; }, ms);
    },
  })));
}

beforeAll(async () => {
  ensureControlPlane();
  const direct = new KubeConfig();
  direct.loadFromFile(KUBECONFIG);
  core = direct.makeApiClient(CoreV1Api);
  apps = direct.makeApiClient(AppsV1Api);
  coordination = direct.makeApiClient(CoordinationV1Api);
  proxy = await apiProxy(new URL(direct.getCurrentCluster()!.server));
  const viaProxy = new KubeConfig();
  viaProxy.loadFromOptions({
    clusters: direct.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` })),
    users: direct.users, contexts: direct.contexts, currentContext: direct.currentContext,
  });

  kubectl(['create', 'namespace', NS]);
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'settings' }, data: { GREETING: 'hello', LEVEL: 'debug' } } });
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'credentials' }, stringData: { password: 's3cret' } } });

  agent = new LocalNodeAgent({
    kubeConfig: viaProxy,
    nodeName: NODE,
    labels: { 'eshop.io/local-node': RUN },
    taints: [TAINT],
    logDir,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    log: (entry) => { agentLog.push(entry); appendFileSync(path.join(logDir, 'agent.log'), `${JSON.stringify(entry)}\n`); },
    toProcess: (_pod, _container, env, port) => ({
      file: process.execPath, args: [FAKE_SERVICE], cwd: logDir, env: { ...env, PORT: String(port) },
      readinessUrl: `http://127.0.0.1:${port}/readyz`,
    }),
  });
  for (const type of ['started', 'ready', 'stopped'] as const) agent.on(type, (e) => events.push({ type, ...e }));
  await agent.start();
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  // A terminating namespace takes no new pods; what is left on the stopped node goes with --force.
  kubectlRun(['delete', 'namespace', NS, '--wait=false']);
  kubectlRun(['delete', 'pods', '--all', '-n', NS, '--force', '--grace-period=0']);
  kubectlRun(['delete', 'node', NODE, '--ignore-not-found']);
  kubectlRun(['delete', 'lease', '-n', 'kube-node-lease', NODE, '--ignore-not-found']);
  proxy?.close();
  if (!KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
}, 60_000);

// ---- helpers ----------------------------------------------------------------------------------------------------

/** Polls fn every 250 ms until it returns something truthy; fails after timeoutMs naming what it waited for. */
async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(250);
  }
}

function deployment(name: string, replicas: number, env: Record<string, string> = {}, terminationGracePeriodSeconds = 10): V1Deployment {
  const vars: V1EnvVar[] = Object.entries(env).map(([k, value]) => ({ name: k, value }));
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': NODE },
          tolerations: [{ ...TAINT, operator: 'Equal' }],
          terminationGracePeriodSeconds,
          containers: [{
            name: 'svc', image: 'eshop/fake-service:local',
            envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }],
            env: [...vars, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'credentials', key: 'password' } } }],
          }],
        },
      },
    },
  };
}

const createDeployment = (d: V1Deployment) => apps.createNamespacedDeployment({ namespace: NS, body: d });
const scale = (name: string, replicas: number) => apps.patchNamespacedDeploymentScale(
  { name, namespace: NS, body: { spec: { replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
const pods = async (app: string): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
const condition = (pod: V1Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type)?.status;
const isReady = (pod: V1Pod) => pod.status?.phase === 'Running' && condition(pod, 'Ready') === 'True';
const pidOf = (pod: V1Pod): number => Number(/^local:\/\/(\d+)$/.exec(pod.status?.containerStatuses?.[0]?.containerID ?? '')?.[1] ?? 0);
const nameOf = (pod: V1Pod): string => pod.metadata?.name ?? '';
/** A live fake-service process with this pid (the command line guards against a reused pid). */
const runs = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(FAKE_SERVICE);
  } catch {
    return false;
  }
};
const environOf = (pid: number): Record<string, string> => Object.fromEntries(
  readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const serviceLog = (pod: string): { event: string; pid: number; names?: string[] }[] => {
  const file = path.join(logDir, `${NS}_${pod}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
};
const readyPods = (app: string, n: number) => until(`${n} Ready pod(s) of ${app}`, async () => {
  const p = await pods(app);
  return p.length === n && p.every(isReady) && p;
});
const goneAfterScale = async (app: string, replicas: number): Promise<V1Pod[]> => {
  const before = await pods(app);
  await scale(app, replicas);
  await until(`${app} down to ${replicas} pod(s) in the API`, async () => (await pods(app)).length === replicas);
  const left = new Set((await pods(app)).map(nameOf));
  return before.filter((p) => !left.has(nameOf(p)));
};
const stoppedEvent = (pod: V1Pod) => until(`the stopped event of ${nameOf(pod)}`, async () =>
  events.find((e) => e.type === 'stopped' && e.pod === `${NS}/${nameOf(pod)}` && e.pid === pidOf(pod)), 5000);

// ---- tests ------------------------------------------------------------------------------------------------------

describe('a Deployment on the local node', () => {
  it('the real scheduler binds both replicas to the node; two real processes run them, Running and Ready, with env from a ConfigMap and a Secret', async () => {
    await createDeployment(deployment('web', 2, { READY_DELAY_MS: '500' }));

    const ready = await readyPods('web', 2);

    const pids = ready.map(pidOf);
    expect(new Set(pids).size).toBe(2);
    for (const pod of ready) {
      expect(pod.spec?.nodeName).toBe(NODE);
      expect(condition(pod, 'PodScheduled')).toBe('True');
      expect(pod.status).toMatchObject({ hostIP: '127.0.0.1', podIP: '127.0.0.1' });
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'svc', ready: true, started: true, restartCount: 0 });
      const pid = pidOf(pod);
      expect(runs(pid)).toBe(true);
      expect(environOf(pid)).toMatchObject({ CFG_GREETING: 'hello', CFG_LEVEL: 'debug', DB_PASSWORD: 's3cret', READY_DELAY_MS: '500' });
      expect(serviceLog(nameOf(pod)).find((l) => l.event === 'env')?.names).toEqual(expect.arrayContaining(['CFG_GREETING', 'DB_PASSWORD', 'PORT']));
    }
    expect(agent.running().filter((r) => r.namespace === NS).map((r) => r.pid).sort()).toEqual([...pids].sort());
    const table = kubectl(['get', 'pods', '-n', NS, '-l', 'app=web', '-o', 'wide', '--no-headers']).trim().split('\n');
    expect(table).toHaveLength(2);
    for (const line of table) expect(line).toMatch(new RegExp(`\\s1/1\\s+Running\\s+0\\s.*\\s${NODE}\\s`));
  });

  it('scaling to 1 and then 0 SIGTERMs each removed pod\'s process, which exits by itself within the grace period, and the pod disappears from the API', async () => {
    for (const replicas of [1, 0]) {
      const [removed, ...more] = await goneAfterScale('web', replicas);
      expect(more).toEqual([]);
      const stopped = await stoppedEvent(removed!);
      expect(stopped).toMatchObject({ exitCode: 0, signal: null });
      expect(serviceLog(nameOf(removed!)).map((l) => l.event)).toEqual(expect.arrayContaining(['SIGTERM', 'exit']));
      expect(runs(pidOf(removed!))).toBe(false);
    }
    await expect(pods('web')).resolves.toEqual([]);
  });

  it('a process that ignores SIGTERM is SIGKILLed after terminationGracePeriodSeconds (2 s), and its pod disappears', async () => {
    await createDeployment(deployment('stubborn', 1, { IGNORE_SIGTERM: '1' }, 2));
    const [pod] = await readyPods('stubborn', 1);

    const [removed] = await goneAfterScale('stubborn', 0);

    expect(nameOf(removed!)).toBe(nameOf(pod!));
    expect(await stoppedEvent(pod!)).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
    expect(serviceLog(nameOf(pod!)).map((l) => l.event)).toContain('SIGTERM');
    expect(runs(pidOf(pod!))).toBe(false);
  });

  it('a process that crashes is started again (back-off 1 s, 2 s) and the pod\'s restartCount goes up, with the exit code as lastState', async () => {
    await createDeployment(deployment('crashy', 1, { CRASH_AFTER_MS: '300' }));

    const pod = await until('restartCount 2 on the crashy pod', async () => {
      const [p] = await pods('crashy');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 && p;
    });

    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    const started = events.filter((e) => e.type === 'started' && e.pod === `${NS}/${nameOf(pod)}`);
    expect(new Set(started.map((e) => e.pid)).size).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e.type === 'stopped' && e.pod === `${NS}/${nameOf(pod)}`).every((e) => e.exitCode === 3)).toBe(true);
    await goneAfterScale('crashy', 0);
  });

  it('readiness follows /readyz: Ready False while it answers 503, True on 200, False again on 503, with the same process', async () => {
    const flag = path.join(logDir, `ready-${RUN}`);
    await createDeployment(deployment('gated', 1, { READY_FILE: flag }));
    const running = await until('the gated pod running, not ready', async () => {
      const [p] = await pods('gated');
      return p?.status?.containerStatuses?.[0]?.started && p;
    });
    // The probe has had a few rounds: still not ready.
    await sleep(2500);
    const [notYet] = await pods('gated');
    expect([condition(notYet!, 'Ready'), condition(notYet!, 'ContainersReady')]).toEqual(['False', 'False']);

    writeFileSync(flag, '');
    const [ready] = await readyPods('gated', 1);
    rmSync(flag);
    const unready = await until('the gated pod not ready again', async () => {
      const [p] = await pods('gated');
      return p && condition(p, 'Ready') === 'False' && p;
    });

    expect(new Set([running, ready!, unready].map(pidOf)).size).toBe(1);
    expect(unready.status?.phase).toBe('Running');
    expect(runs(pidOf(unready))).toBe(true);
    await goneAfterScale('gated', 0);
  });

  it('when every connection to the API server drops and it refuses connections for 3 s, the pod watch comes back and new pods still run', async () => {
    const errors = agentLog.length;
    proxy.outage(3000);
    await createDeployment(deployment('after-outage', 1));

    await readyPods('after-outage', 1);

    expect(agentLog.slice(errors).some((e) => e['msg'] === 'pod watch failed, restarting in 1 s')).toBe(true);
    await goneAfterScale('after-outage', 0);
  });
});

describe('the node', () => {
  it('stays Ready across heartbeats (Lease renewed, Ready heartbeat refreshed), and stop() ends every process and reports it not Ready', async () => {
    await createDeployment(deployment('last', 2, { IGNORE_SIGTERM: '1' }, 2));
    await readyPods('last', 2);
    const renewals = new Set<string>();
    const heartbeats = new Set<string>();
    await until('3 lease renewals and 2 Ready heartbeats', async () => {
      const [node, lease] = await Promise.all([core.readNode({ name: NODE }), coordination.readNamespacedLease({ name: NODE, namespace: 'kube-node-lease' })]);
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
      expect(node.spec?.taints?.filter((t) => t.key.startsWith('node.kubernetes.io/')) ?? []).toEqual([]);
      expect(lease.spec).toMatchObject({ holderIdentity: NODE, leaseDurationSeconds: 40 });
      // client-node types renewTime as V1MicroTime but leaves it the string the server sent.
      renewals.add(String(lease.spec?.renewTime));
      heartbeats.add(String(ready?.lastHeartbeatTime));
      return renewals.size >= 3 && heartbeats.size >= 2;
    }, 20_000);
    const pids = agent.running().map((r) => r.pid);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.every(runs)).toBe(true);

    await agent.stop();

    expect(pids.filter(runs)).toEqual([]);
    expect(agent.running()).toEqual([]);
    const node = await core.readNode({ name: NODE });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('Unknown');
    for (const pid of pids) expect(events).toContainEqual(expect.objectContaining({ type: 'stopped', pid, signal: 'SIGKILL' }));
  });
});
