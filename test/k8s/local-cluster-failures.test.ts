/**
 * local/cluster.sh when something is wrong: one clear line naming the cause and the fix, a prompt exit, and
 * nothing of a half-started control plane left running. Each case runs the script on a cluster folder of its own
 * (ESHOP_CLUSTER_DIR), beside the shared local cluster, which it must not disturb.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLUSTER_SCRIPT, ensureControlPlane, kubectl } from './support/local-cluster';
import { ROOT } from './support/render';

jest.setTimeout(120_000);

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eshop-cluster-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function script(env: NodeJS.ProcessEnv, ...args: string[]) {
  const started = Date.now();
  const r = spawnSync('bash', [CLUSTER_SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 100_000 });
  return { status: r.status, stderr: r.stderr, seconds: (Date.now() - started) / 1000, errors: r.stderr.split('\n').filter((l) => l.includes('ERROR')) };
}

/** Processes whose command line mentions the folder (what a failed start could have left behind). */
function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        return cmd.includes(dir) && !cmd.includes('jest') ? [cmd] : [];
      } catch {
        return [];
      }
    });
}

/** A TCP port something listens on, and a free one (closed again), on 127.0.0.1. */
async function listen(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;
async function freePort(): Promise<number> {
  const s = await listen();
  const port = portOf(s);
  await new Promise((resolve) => s.close(resolve));
  return port;
}

beforeAll(() => ensureControlPlane());

it('a port in use: one line naming the port, the component and the variable that moves it; nothing left running', async () => {
  const busy = await listen();
  try {
    const dir = tempDir();
    // etcd starts on its own free port pair, then the API server's port is taken: etcd must be stopped again.
    const etcd = await freePort();
    const r = script({ ESHOP_CLUSTER_DIR: dir, ESHOP_ETCD_PORT: String(etcd), ESHOP_APISERVER_PORT: String(portOf(busy)) }, 'up', '--no-deploy');
    expect(r.status).toBe(1);
    expect(r.errors).toEqual([
      `[cluster] ERROR: port ${portOf(busy)} (for kube-apiserver) is already in use by another process (see: ss -ltnp 'sport = :${portOf(busy)}'); stop it or set ESHOP_APISERVER_PORT to a free port`,
    ]);
    expect(r.stderr).toMatch(/start-up failed \(exit 1\): stopping what this run started \(etcd\)/);
    expect(processesUsing(dir)).toEqual([]);
  } finally {
    busy.close();
  }
});

it('no Go toolchain and no binaries: one line saying what builds them and how to get Go, at once', () => {
  const tools = tempDir();
  const r = script({ ESHOP_TOOLS_DIR: tools, ESHOP_CLUSTER_DIR: tempDir(), PATH: '/usr/bin:/bin' }, 'up', '--no-deploy');
  expect(r.status).toBe(1);
  expect(r.errors).toEqual([expect.stringMatching(/^\[cluster\] ERROR: go not found: the local tools \(Kubernetes, KEDA, helm, Jaeger\) are built from the Go module proxy with Go >= 1\.26/)]);
  expect(r.seconds).toBeLessThan(30);
  expect(readdirSync(tools).filter((f) => f !== 'bin')).toEqual([]);
});

it('a failed build (no module proxy reachable): the component, go’s own error, where the full log is; no half-written binary', () => {
  const tools = tempDir();
  const r = script({ ESHOP_TOOLS_DIR: tools, ESHOP_CLUSTER_DIR: tempDir(), GOPROXY: 'off', GOMODCACHE: tempDir(), GOFLAGS: '-mod=mod' }, 'build');
  expect(r.status).toBe(1);
  expect(r.errors).toEqual([expect.stringMatching(/^\[cluster\] ERROR: building kube-apiserver failed \(go exit 1; full output: .*build-kube-apiserver\.log\)/)]);
  expect(r.stderr).toMatch(/module lookup disabled by GOPROXY=off/);
  expect(readdirSync(path.join(tools, 'kubernetes-v1.37.2'))).toEqual([]);
});

it('the shared cluster kept running through all of it', () => {
  expect(kubectl(['get', '--raw', '/readyz']).trim()).toBe('ok');
});
