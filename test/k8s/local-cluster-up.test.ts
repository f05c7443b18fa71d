/**
 * What README promises a user: `local/platform.sh cluster up` from nothing (no etcd data, no certificates) gives a
 * v1.37 API server, the platform release deployed and the app's Deployments Ready; `cluster down` leaves nothing
 * running. On a cluster folder and ports of its own, beside the shared local cluster, which it must not disturb.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './support/render';

jest.setTimeout(5 * 60_000);

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => resolve(s)); })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Processes whose command line mentions the folder. */
const processesUsing = (dir: string): string[] =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmd.includes(dir) && !cmd.includes('jest') ? [cmd] : [];
    } catch {
      return [];
    }
  });

let dir: string;
let env: NodeJS.ProcessEnv;
const platform = (...args: string[]) => spawnSync('bash', [path.join(ROOT, 'local/platform.sh'), ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 240_000 });
const kubectl = (...args: string[]) => spawnSync(path.join(ROOT, '.local/tools/bin/kubectl'), ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], { encoding: 'utf8' });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'eshop-cluster-up-'));
  // etcd needs its peer port next to its client port: take a free pair by trying.
  const [etcd, ...ports] = await freePorts(11);
  const names = ['ESHOP_APISERVER_PORT', 'ESHOP_KCM_PORT', 'ESHOP_SCHEDULER_PORT', 'ESHOP_KWOK_PORT', 'ESHOP_KEDA_GRPC_PORT', 'ESHOP_KEDA_OPERATOR_METRICS_PORT', 'ESHOP_KEDA_OPERATOR_HEALTH_PORT', 'ESHOP_KEDA_METRICS_API_PORT', 'ESHOP_KEDA_METRICS_API_METRICS_PORT'];
  env = { ...process.env, ESHOP_CLUSTER_DIR: dir, ESHOP_ETCD_PORT: String(etcd), ...Object.fromEntries(names.map((n, i) => [n, String(ports[i])])) };
  delete env.KUBECONFIG;
});

afterAll(() => {
  platform('cluster', 'down');
  rmSync(dir, { recursive: true, force: true });
});

it('cluster up from nothing: Kubernetes v1.37, the platform release deployed, the Deployments Ready; down stops every process', () => {
  const up = platform('cluster', 'up');
  expect({ status: up.status, errors: up.stderr.split('\n').filter((l) => /ERROR|WARNING/.test(l)) }).toEqual({ status: 0, errors: [] });
  // The app's four and the platform's Jaeger (values-kind.yaml).
  expect(up.stderr).toMatch(/deployed \(kind\) in \d+ s: 5 Deployments Available/);

  expect(JSON.parse(kubectl('get', '--raw', '/version').stdout).gitVersion).toMatch(/^v1\.37\./);
  const releases = spawnSync(path.join(ROOT, '.local/tools/bin/helm'), ['--kubeconfig', path.join(dir, 'kubeconfig'), 'list', '-A', '-o', 'json'], {
    encoding: 'utf8', env: { ...env, HELM_CACHE_HOME: path.join(dir, 'h/c'), HELM_CONFIG_HOME: path.join(dir, 'h/g'), HELM_DATA_HOME: path.join(dir, 'h/d') },
  });
  expect(JSON.parse(releases.stdout)).toEqual([expect.objectContaining({ name: 'eshop-platform', namespace: 'eshop', status: 'deployed' })]);
  const deployments = JSON.parse(kubectl('-n', 'eshop', 'get', 'deploy', '-o', 'json').stdout).items as { metadata: { name: string }; status: { readyReplicas?: number }; spec: { replicas: number } }[];
  expect(deployments.map((d) => [d.metadata.name, d.status.readyReplicas === d.spec.replicas]).sort()).toEqual([
    ['eshop-jaeger', true], ['gateway', true], ['order-api', true], ['order-consumer', true], ['product', true],
  ]);

  // Again: only what is missing (nothing), no new Helm revision.
  const again = platform('cluster', 'up');
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/the platform is deployed already \(release eshop-platform revision 1\)/);

  const down = platform('cluster', 'down');
  expect(down.status).toBe(0);
  expect(processesUsing(dir)).toEqual([]);
});
