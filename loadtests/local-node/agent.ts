/**
 * A local node agent for experiments (test infrastructure, not product code): it registers one Kubernetes Node and
 * runs the pods the real scheduler binds to it as local processes, reporting node and pod status the way a kubelet
 * does, so Deployments, ReplicaSets, the scheduler and `kubectl get pods` behave as on a real node.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoordinationV1Api, CoreV1Api, type KubeConfig, ListWatch, PatchStrategy, V1MicroTime, Watch, setHeaderOptions,
  type V1Container, type V1ContainerStateTerminated, type V1ContainerStatus, type V1Lease, type V1Node, type V1Pod,
  type V1PodCondition, type V1PodStatus, type V1Taint,
} from '@kubernetes/client-node';

export interface LocalProcessSpec { file: string; args: string[]; cwd: string; env: Record<string, string>; readinessUrl: string }

export interface LocalNodeAgentOptions {
  kubeConfig: KubeConfig;
  /** The Node's name, e.g. `eshop-local`. */
  nodeName: string;
  /** Merged over kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch. */
  labels?: Record<string, string>;
  /** e.g. `[{ key: 'eshop.io/local', value: 'true', effect: 'NoSchedule' }]`. */
  taints?: V1Taint[];
  /** @default { cpu: '2', memory: '8Gi', pods: '32' } (allocatable is the same) */
  capacity?: Record<string, string>;
  /** One log file per pod (stdout and stderr of its process): `<namespace>_<pod>.log`. */
  logDir: string;
  /**
   * How a pod's container runs here. env = the container's env resolved through the API server (env values,
   * valueFrom configMapKeyRef/secretKeyRef, envFrom configMapRef/secretRef with prefix), port = a free TCP
   * port the agent picked for this pod. An empty readinessUrl means ready as soon as the process runs.
   */
  toProcess(pod: V1Pod, container: V1Container, env: Record<string, string>, port: number): LocalProcessSpec;
  /** @default 10 */
  heartbeatSeconds?: number;
  /** Where the agent's log entries go. @default one JSON line each on stderr */
  log?: (entry: Record<string, unknown>) => void;
}

export type AgentEvent = 'started' | 'ready' | 'stopped';
export interface AgentEventData { pod: string; pid: number; at: number; exitCode?: number | null; signal?: string | null }

const LOCALHOST = '127.0.0.1';
const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_SECONDS = 40;
/** The kubelet never gives a process less than this to stop (its minimumGracePeriodInSeconds). */
const MIN_GRACE_SECONDS = 2;
const MAX_BACKOFF_MS = 30_000;
/** Go's name for it, as kubernetes.io/arch has it. */
const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** One pod bound to this node and the process that plays its (first) container. */
interface PodRun {
  readonly namespace: string; readonly name: string; readonly uid: string;
  pod: V1Pod;
  port?: number; spec?: LocalProcessSpec;
  child?: ChildProcess; pid: number; alive: boolean; exited?: Promise<void>; startedAt?: Date;
  ready: boolean; restartCount: number; backoffMs: number;
  waiting?: { reason: string; message: string };
  lastTerminated?: V1ContainerStateTerminated;
  /** Set when the container will not run again (restartPolicy Never/OnFailure). */
  terminated?: V1ContainerStateTerminated;
  /** The readiness poll while the process runs, the restart back-off while it does not. */
  timer?: NodeJS.Timeout;
  terminating?: Promise<void>;
  reportWanted: boolean; reporting?: Promise<void>;
}

const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const keyOf = (r: { namespace: string; name: string }): string => `${r.namespace}/${r.name}`;

export class LocalNodeAgent {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly events = new EventEmitter();
  private readonly runs = new Map<string, PodRun>();
  private informer?: ListWatch<V1Pod>;
  private informerErrors = 0;
  private informerRestart?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private beat?: Promise<void>;
  private synced = false;
  private stopping = false;
  private nodeUid = '';
  private readySince = new Date();
  private readonly since = new Date();

  constructor(private readonly options: LocalNodeAgentOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** Registers (or updates) the Node, starts heartbeats and the pod informer; resolves when the informer has synced. */
  async start(): Promise<void> {
    mkdirSync(this.options.logDir, { recursive: true });
    await this.registerNode();
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch((e) => this.log('warn', 'heartbeat failed', { error: messageOf(e) })),
      (this.options.heartbeatSeconds ?? 10) * 1000);
    const fieldSelector = `spec.nodeName=${this.options.nodeName}`;
    // makeInformer takes no field selector: ListWatch does, with the same selector on list and watch.
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(this.options.kubeConfig),
      () => this.core.listPodForAllNamespaces({ fieldSelector }), false, undefined, fieldSelector);
    // client-node calls these inside its watch stream's parser, which swallows what they throw: catch here, and log.
    const guarded = (what: string, fn: (pod: V1Pod) => void) => (pod: V1Pod) => {
      try { fn(pod); } catch (e) { this.log('error', `${what} failed`, { pod: pod.metadata?.name, error: messageOf(e) }); }
    };
    informer.on('add', guarded('add', (p) => this.onPod(p)));
    informer.on('update', guarded('update', (p) => this.onPod(p)));
    informer.on('delete', guarded('delete', (p) => this.onPodDeleted(p)));
    // On any error but a 410 or a client-side timeout the informer stops for good: start it again after 1 s.
    informer.on('error', (e) => {
      this.informerErrors++;
      if (this.stopping) return;  // the abort of stop() arrives as an error too
      this.log('warn', 'pod watch failed, restarting in 1 s', { error: messageOf(e) });
      if (this.synced) this.restartInformer();
    });
    this.informer = informer;
    for (let attempt = 1; ; attempt++) {
      const errors = this.informerErrors;
      await informer.start();  // resolves (without throwing) also when the list failed: the error callback tells
      if (this.informerErrors === errors) break;
      if (attempt === 10) throw new Error(`the pod informer of node ${this.options.nodeName} did not sync in 10 attempts`);
      await sleep(1000);
    }
    this.synced = true;
    this.log('info', 'node agent started', { pods: informer.list().length });
  }

  /** SIGTERMs every process (each pod's grace period), stops heartbeats and the informer, and reports Ready=Unknown. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.informerRestart);
    await this.informer?.stop();
    await this.beat?.catch(() => undefined);  // a Ready=True in flight must not land after the Unknown
    // Not Ready first, so that nothing new lands while the processes stop (the node lifecycle controller taints it).
    this.readySince = new Date();
    await this.postNodeStatus(false).catch((e) => this.log('warn', 'could not report the node not ready', { error: messageOf(e) }));
    await Promise.all([...this.runs.values()].map((run) => this.terminate(run, false)));
    this.log('info', 'node agent stopped');
  }

  running(): { namespace: string; name: string; uid: string; pid: number; ready: boolean }[] {
    return [...this.runs.values()].filter((r) => r.alive).map(({ namespace, name, uid, pid, ready }) => ({ namespace, name, uid, pid, ready }));
  }

  /** `stopped` is emitted for every exit of a process: crashes (then restarted) and terminations alike. */
  on(event: AgentEvent, listener: (e: AgentEventData) => void): this {
    this.events.on(event, listener);
    return this;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
    const entry = { time: new Date().toISOString(), level, msg, node: this.options.nodeName, ...fields };
    if (this.options.log) this.options.log(entry);
    else process.stderr.write(`${JSON.stringify(entry)}\n`);
  }

  private restartInformer(): void {
    clearTimeout(this.informerRestart);
    this.informerRestart = setTimeout(() => {
      if (!this.stopping) this.informer?.start().catch((e) => this.log('warn', 'pod watch restart failed', { error: messageOf(e) }));
    }, 1000);
  }

  // ---- pods -------------------------------------------------------------------------------------------------------

  private onPod(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.stopping || pod.spec?.nodeName !== this.options.nodeName) return;
    const run = this.runs.get(uid);
    if (run) run.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      if (run) void this.terminate(run, true);
      else void this.finalDelete({ namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid });
      return;
    }
    if (run || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' || !pod.spec.containers[0]) return;
    const created: PodRun = {
      namespace: pod.metadata?.namespace ?? 'default', name: pod.metadata?.name ?? '', uid, pod,
      pid: 0, alive: false, ready: false, restartCount: 0, backoffMs: 0, reportWanted: false,
    };
    this.runs.set(uid, created);  // before any await: the next event for this pod finds it
    void this.launch(created);
  }

  private onPodDeleted(pod: V1Pod): void {
    const run = this.runs.get(pod.metadata?.uid ?? '');
    if (run) void this.terminate(run, false);
  }

  private async launch(run: PodRun): Promise<void> {
    const container = run.pod.spec?.containers[0];
    if (!container || run.terminating || this.stopping) return;
    try {
      if (!run.spec) {
        const env = await resolveEnv(this.core, run.pod, container);
        const inUse = new Set([...this.runs.values()].map((r) => r.port));
        let port = await freePort();
        while (inUse.has(port)) port = await freePort();
        run.port = port;
        run.spec = this.options.toProcess(run.pod, container, env, port);
      }
    } catch (e) {
      run.waiting = { reason: 'CreateContainerConfigError', message: messageOf(e) };
      this.log('warn', 'cannot run the container, retrying', { pod: keyOf(run), error: messageOf(e) });
      this.retryLater(run);
      this.report(run);
      return;
    }
    if (run.terminating || this.stopping) return;
    const spec = run.spec;
    const out = openSync(path.join(this.options.logDir, `${run.namespace}_${run.name}.log`), 'a');
    // Its own process group, so that stopping it reaches whatever it starts.
    const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    child.on('error', (e) => this.log('error', 'process error', { pod: keyOf(run), file: spec.file, error: e.message }));
    if (child.pid === undefined) {  // ENOENT, EACCES…: it never ran
      run.waiting = { reason: 'RunContainerError', message: `cannot start ${spec.file}` };
      this.retryLater(run);
      this.report(run);
      return;
    }
    if (run.startedAt) run.restartCount++;
    Object.assign(run, { child, pid: child.pid, alive: true, ready: false, startedAt: new Date(), waiting: undefined });
    run.exited = new Promise<void>((resolve) => child.once('exit', (code, sig) => {
      if (run.child === child) this.onExit(run, code, sig);
      resolve();
    }));
    this.log('info', 'process started', { pod: keyOf(run), pid: run.pid, file: spec.file, args: spec.args, restartCount: run.restartCount });
    this.events.emit('started', { pod: keyOf(run), pid: run.pid, at: Date.now() });
    if (spec.readinessUrl) this.probe(run, child);
    else this.setReady(run, true);
    this.report(run);
  }

  private onExit(run: PodRun, code: number | null, signal: NodeJS.Signals | null): void {
    run.alive = false;
    run.ready = false;
    clearTimeout(run.timer);
    const signo = signal ? os.constants.signals[signal] : undefined;
    const state: V1ContainerStateTerminated = {
      exitCode: code ?? 128 + (signo ?? 0), ...(signo ? { signal: signo } : {}), reason: code === 0 ? 'Completed' : 'Error',
      startedAt: run.startedAt, finishedAt: new Date(), containerID: `local://${run.pid}`,
    };
    this.events.emit('stopped', { pod: keyOf(run), pid: run.pid, at: Date.now(), exitCode: code, signal });
    if (run.terminating || this.stopping) return;  // terminate() waits for this exit
    this.log('warn', 'process exited', { pod: keyOf(run), pid: run.pid, exitCode: code, signal });
    const policy = run.pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && state.exitCode !== 0)) {
      run.lastTerminated = state;
      if (Date.now() - (run.startedAt?.getTime() ?? 0) > 10 * 60_000) run.backoffMs = 0;  // it ran fine for a while
      this.retryLater(run);
      run.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${run.backoffMs / 1000}s restarting failed container` };
    } else {
      run.terminated = state;
    }
    this.report(run);
  }

  /** Back-off 1 s, 2 s, 4 s … capped at 30 s, then launch again. */
  private retryLater(run: PodRun): void {
    run.backoffMs = Math.min(run.backoffMs ? run.backoffMs * 2 : 1000, MAX_BACKOFF_MS);
    run.timer = setTimeout(() => void this.launch(run), run.backoffMs);
  }

  /** Polls readinessUrl every second (HTTP 200 = ready, 2 s timeout) while this process runs. */
  private probe(run: PodRun, child: ChildProcess): void {
    run.timer = setTimeout(() => void httpOk(run.spec?.readinessUrl ?? '').then((ok) => {
      if (run.child !== child || !run.alive || run.terminating) return;
      this.setReady(run, ok);
      this.probe(run, child);
    }), 1000);
  }

  private setReady(run: PodRun, ready: boolean): void {
    if (run.ready === ready) return;
    run.ready = ready;
    this.log('info', ready ? 'pod ready' : 'pod not ready', { pod: keyOf(run), pid: run.pid });
    if (ready) this.events.emit('ready', { pod: keyOf(run), pid: run.pid, at: Date.now() });
    this.report(run);
  }

  /** SIGTERM, up to the grace period for the exit, SIGKILL; then, for a deleted pod, the kubelet's final delete. */
  private terminate(run: PodRun, finalDelete: boolean): Promise<void> {
    run.terminating ??= (async () => {
      clearTimeout(run.timer);
      const grace = Math.max(MIN_GRACE_SECONDS,
        run.pod.metadata?.deletionGracePeriodSeconds ?? run.pod.spec?.terminationGracePeriodSeconds ?? 30);
      if (run.alive && run.exited) {
        this.log('info', 'stopping process', { pod: keyOf(run), pid: run.pid, graceSeconds: grace });
        signal(run, 'SIGTERM');
        if (!(await within(run.exited, grace * 1000))) {
          this.log('warn', 'grace period over, killing', { pod: keyOf(run), pid: run.pid });
          signal(run, 'SIGKILL');
          await within(run.exited, 5000);
        }
        signal(run, 'SIGKILL', true);  // what is left of its process group
      }
      this.runs.delete(run.uid);
      if (finalDelete) await this.finalDelete(run);
    })();
    return run.terminating;
  }

  private async finalDelete(pod: { namespace: string; name: string; uid: string }): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        // With a body, the API server ignores DeleteOptions in the query: gracePeriodSeconds goes in the body.
        await this.core.deleteNamespacedPod({ ...pod, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.uid } } });
        this.log('info', 'pod deleted', { pod: keyOf(pod) });
        return;
      } catch (e) {
        if (codeOf(e) === 404 || codeOf(e) === 409) return;  // gone already, or a new pod of the same name
        this.log('warn', 'final delete failed', { pod: keyOf(pod), attempt, error: messageOf(e) });
        await sleep(1000);
      }
    }
  }

  /** Writes the pod's status; one write at a time per pod, a change during a write is written after it. */
  private report(run: PodRun): void {
    run.reportWanted = true;
    run.reporting ??= (async () => {
      while (run.reportWanted && !run.terminating && !this.stopping) {
        run.reportWanted = false;
        try {
          const current = await this.core.readNamespacedPod({ name: run.name, namespace: run.namespace });
          if (current.metadata?.uid !== run.uid) break;
          current.status = this.podStatus(run, current.status ?? {});
          await this.core.replaceNamespacedPodStatus({ name: run.name, namespace: run.namespace, body: current });
        } catch (e) {
          if (codeOf(e) === 404) break;
          run.reportWanted = true;  // 409: re-read and write again; anything else: again in 1 s
          if (codeOf(e) !== 409) {
            this.log('warn', 'pod status write failed', { pod: keyOf(run), error: messageOf(e) });
            await sleep(1000);
          }
        }
      }
      run.reporting = undefined;
    })();
  }

  private podStatus(run: PodRun, prev: V1PodStatus): V1PodStatus {
    const now = new Date();
    const spec = run.pod.spec;
    const [first, ...others] = spec?.containers ?? [];
    const condition = (type: string, value: boolean): V1PodCondition => {
      const status = value ? 'True' : 'False';
      const old = prev.conditions?.find((c) => c.type === type);
      return { type, status, lastTransitionTime: old?.status === status ? old.lastTransitionTime ?? now : now };
    };
    const ours: Record<string, boolean> = { PodReadyToStartContainers: true, Initialized: true, ContainersReady: run.ready, Ready: run.ready, PodScheduled: true };
    const state = run.terminated ? { terminated: run.terminated }
      : run.alive ? { running: { startedAt: run.startedAt } }
      : { waiting: run.waiting ?? { reason: 'ContainerCreating', message: '' } };
    const main: V1ContainerStatus = {
      name: first?.name ?? '', image: first?.image ?? '', imageID: '', ...(run.pid ? { containerID: `local://${run.pid}` } : {}),
      ready: run.ready, restartCount: run.restartCount, started: run.alive, state,
      ...(run.lastTerminated ? { lastState: { terminated: run.lastTerminated } } : {}),
    };
    // Only the first container runs; the others are reported waiting, so such a pod is never Ready.
    const notRun = others.map((c): V1ContainerStatus => ({
      name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, started: false,
      state: { waiting: { reason: 'NotRunLocally', message: 'the local node agent runs only the first container' } },
    }));
    if (notRun.length > 0) ours['ContainersReady'] = ours['Ready'] = false;
    return {
      ...prev,
      phase: run.terminated ? (run.terminated.exitCode === 0 ? 'Succeeded' : 'Failed') : run.startedAt ? 'Running' : 'Pending',
      hostIP: LOCALHOST, hostIPs: [{ ip: LOCALHOST }], podIP: LOCALHOST, podIPs: [{ ip: LOCALHOST }],
      startTime: prev.startTime ?? now,
      conditions: [...(prev.conditions ?? []).filter((c) => !(c.type in ours)), ...Object.entries(ours).map(([t, v]) => condition(t, v))],
      containerStatuses: [main, ...notRun],
      // Init containers are not run: reported completed (exit 0), as if they had done their work.
      initContainerStatuses: (spec?.initContainers ?? []).map((c) => ({
        name: c.name, image: c.image ?? '', imageID: '', ready: true, restartCount: 0, started: false,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: prev.startTime ?? now, finishedAt: prev.startTime ?? now } },
      })),
    };
  }

  // ---- node -------------------------------------------------------------------------------------------------------

  private async registerNode(): Promise<void> {
    const name = this.options.nodeName;
    const labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': ARCH, ...this.options.labels };
    const taints = this.options.taints ?? [];
    let node: V1Node;
    try {
      node = await this.core.createNode({ body: { metadata: { name, labels }, spec: { taints } } });
    } catch (e) {
      if (codeOf(e) !== 409) throw e;
      node = await retryOnConflict(async () => {
        const current = await this.core.readNode({ name });
        current.metadata = { ...current.metadata, labels: { ...current.metadata?.labels, ...labels } };
        // Ours replace ours; the node lifecycle controller's (node.kubernetes.io/*) stay until it lifts them.
        const theirs = (current.spec?.taints ?? []).filter((t) => t.key.startsWith('node.kubernetes.io/'));
        current.spec = { ...current.spec, taints: [...theirs, ...taints] };
        return this.core.replaceNode({ name, body: current });
      });
    }
    this.nodeUid = node.metadata?.uid ?? '';
    this.readySince = new Date();
    this.log('info', 'node registered', { uid: this.nodeUid, labels, taints });
  }

  /** Renews the Lease and refreshes the Ready condition's lastHeartbeatTime; one at a time. */
  private heartbeat(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.beat ??= (async () => {
      try {
        await this.renewLease();
        await this.postNodeStatus(true);
      } finally {
        this.beat = undefined;
      }
    })();
    return this.beat;
  }

  private async renewLease(): Promise<void> {
    const name = this.options.nodeName;
    const namespace = LEASE_NAMESPACE;
    // renewTime is a MicroTime: a plain Date serializes with milliseconds, which the API server rejects.
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: new V1MicroTime() };
    await retryOnConflict(async () => {
      let lease: V1Lease;
      try {
        lease = await this.coordination.readNamespacedLease({ name, namespace });
      } catch (e) {
        if (codeOf(e) !== 404) throw e;
        const owner = { apiVersion: 'v1', kind: 'Node', name, uid: this.nodeUid };  // goes with the Node, as the kubelet's does
        return this.coordination.createNamespacedLease({ namespace, body: { metadata: { name, namespace, ownerReferences: [owner] }, spec } });
      }
      lease.spec = { ...lease.spec, ...spec };
      return this.coordination.replaceNamespacedLease({ name, namespace, body: lease });
    });
  }

  /** The node's status: Ready True (or Unknown once stopped), no pressure, its capacity, addresses and nodeInfo. */
  private async postNodeStatus(ready: boolean): Promise<void> {
    const now = new Date().toISOString();
    const condition = (type: string, status: string, reason: string, message: string, since: Date) =>
      ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since.toISOString() });
    const capacity = this.options.capacity ?? { cpu: '2', memory: '8Gi', pods: '32' };
    const status = {
      capacity, allocatable: capacity,
      addresses: [{ type: 'InternalIP', address: LOCALHOST }, { type: 'Hostname', address: this.options.nodeName }],
      nodeInfo: {
        architecture: ARCH, operatingSystem: 'linux', kernelVersion: os.release(),
        osImage: `${os.type()} ${os.release()}`, containerRuntimeVersion: `local-process://node-${process.version}`, kubeletVersion: 'local-node-agent',
        kubeProxyVersion: '', machineID: '', systemUUID: '', bootID: '',
      },
      conditions: [
        ready ? condition('Ready', 'True', 'KubeletReady', 'local node agent is posting ready status', this.readySince)
          : condition('Ready', 'Unknown', 'NodeStatusUnknown', 'local node agent stopped', this.readySince),
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'local node agent has sufficient memory available', this.since),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'local node agent has no disk pressure', this.since),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'local node agent has sufficient PID available', this.since),
      ],
    };
    // The generated client sends every patch as a JSON Patch unless told otherwise; conditions merge by type.
    await this.core.patchNodeStatus({ name: this.options.nodeName, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
  }
}

/** The container's environment as the kubelet builds it: envFrom first, then env (later wins), with $(VAR) expanded. */
export async function resolveEnv(core: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const sources = new Map<string, Promise<Record<string, string> | undefined>>();
  const source = (kind: 'ConfigMap' | 'Secret', name = ''): Promise<Record<string, string> | undefined> => {
    const key = `${kind}/${name}`;
    if (!sources.has(key)) {
      sources.set(key, (async () => {
        try {
          if (kind === 'ConfigMap') return (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
          const data = (await core.readNamespacedSecret({ name, namespace })).data ?? {};
          return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
        } catch (e) {
          if (codeOf(e) === 404) return undefined;
          throw e;
        }
      })());
    }
    return sources.get(key)!;
  };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const [kind, ref] = from.configMapRef ? ['ConfigMap', from.configMapRef] as const : ['Secret', from.secretRef] as const;
    if (!ref) continue;
    const data = await source(kind, ref.name);
    if (!data && !ref.optional) throw new Error(`${kind} "${ref.name}" not found`);
    for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const v of container.env ?? []) {
    const from = v.valueFrom;
    let value: string | undefined = v.value === undefined ? '' : v.value.replace(/\$\$|\$\(([A-Za-z_][\w.-]*)\)/g, (m, n?: string) => (n === undefined ? '$' : env[n] ?? m));
    if (from?.configMapKeyRef || from?.secretKeyRef) {
      const [kind, ref] = from.configMapKeyRef ? ['ConfigMap', from.configMapKeyRef] as const : ['Secret', from.secretKeyRef!] as const;
      value = (await source(kind, ref.name))?.[ref.key];
      if (value === undefined && !ref.optional) throw new Error(`${kind} "${ref.name}" has no key "${ref.key}" (env ${v.name})`);
    } else if (from) {
      value = undefined;  // fieldRef, resourceFieldRef, fileKeyRef: not resolved here
    }
    if (value !== undefined) env[v.name] = value;
  }
  return env;
}

async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (codeOf(e) !== 409 || attempt >= attempts) throw e;
    }
  }
}

/** Whether p settled within ms (the timer is cleared either way, so it holds nothing open). */
async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(resolve, ms, false); });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** To the process group of the pod's process (it was spawned detached), else to the process while it lives. */
function signal(run: PodRun, sig: NodeJS.Signals, groupOnly = false): void {
  if (run.pid <= 0) return;  // kill(0) would signal the agent's own process group
  try {
    process.kill(-run.pid, sig);
  } catch {
    if (!groupOnly) run.child?.kill(sig);  // never a bare pid: it may belong to another process by now
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, LOCALHOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
  });
}
