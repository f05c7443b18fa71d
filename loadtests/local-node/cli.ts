/**
 * node loadtests/local-node/dist/cli.js --node eshop-local --kubeconfig FILE --log-dir DIR
 *   [--label k=v]… [--taint k=v:Effect]… --command 'CONTAINER=FILE ARGS…'… [--port-env NAME] [--heartbeat 10]
 *
 * Runs the local node agent until SIGINT or SIGTERM. A pod's (first) container runs the command given for its name
 * (split on spaces, no quoting), in this directory, with the pod's env plus PATH, HOME, PORT and --port-env set to
 * the port picked for the pod; readiness is the container's readinessProbe.httpGet path on that port, if it has one.
 */
import { KubeConfig, type V1Taint } from '@kubernetes/client-node';
import { LocalNodeAgent } from './agent';

function parse(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const [key, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    out.set(key, [...(out.get(key) ?? []), inline ?? argv[++i] ?? '']);
  }
  return out;
}

/** "k=v" into [k, v], failing with the flag's name. */
function pair(flag: string, s: string): [string, string] {
  const at = s.indexOf('=');
  if (at <= 0) throw new Error(`--${flag} "${s}": expected KEY=VALUE`);
  return [s.slice(0, at), s.slice(at + 1)];
}

function taint(s: string): V1Taint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(s);
  if (!m) throw new Error(`--taint "${s}": expected KEY[=VALUE]:NoSchedule|PreferNoSchedule|NoExecute`);
  return { key: m[1]!, ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3]! };
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const one = (k: string): string | undefined => a.get(k)?.at(-1);
  const required = (k: string): string => one(k) || (() => { throw new Error(`--${k} is required`); })();
  const commands = new Map((a.get('command') ?? []).map((c) => pair('command', c)));
  if (commands.size === 0) throw new Error('at least one --command CONTAINER=FILE ARGS… is required');
  const portEnv = one('port-env');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(required('kubeconfig'));

  const agent = new LocalNodeAgent({
    kubeConfig,
    nodeName: required('node'),
    labels: Object.fromEntries((a.get('label') ?? []).map((l) => pair('label', l))),
    taints: (a.get('taint') ?? []).map(taint),
    logDir: required('log-dir'),
    heartbeatSeconds: Number(one('heartbeat') ?? 10),
    toProcess(pod, container, env, port) {
      const command = commands.get(container.name);
      if (!command) throw new Error(`no --command for container "${container.name}" (pod ${pod.metadata?.namespace}/${pod.metadata?.name})`);
      const [file, ...args] = command.trim().split(/\s+/) as [string, ...string[]];
      const probePath = container.readinessProbe?.httpGet?.path;
      return {
        file, args, cwd: process.cwd(),
        env: {
          PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env,
          PORT: String(port), ...(portEnv ? { [portEnv]: String(port) } : {}),
        },
        readinessUrl: probePath ? `http://127.0.0.1:${port}${probePath}` : '',
      };
    },
  });
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void agent.stop().finally(() => process.exit(0));
    });
  }
  await agent.start();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
