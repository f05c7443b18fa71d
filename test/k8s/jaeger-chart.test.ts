import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { eventually, freePort } from '@eshop/test-support';
import { nameOf } from './support/policies';
import { platformScenarioFor, renderPlatform, ROOT, type Manifest } from './support/render';

/**
 * The platform chart's Jaeger (tracing.jaeger.enabled, on in values-kind.yaml) as a cluster would run it: the
 * rendered config.yaml started with the real Jaeger binary of the same release the image tag names (built by
 * local/jaeger.sh), fed one OTLP span and asked for it back through the query API; and the Deployment, Service
 * and probes agree with the ports that config opens. The API server and policy checks see it in
 * platform-chart.test.ts (scenario kind).
 */
type Obj = Record<string, any>;

const jaegerBinary = (): string => {
  const r = spawnSync('bash', [path.join(ROOT, 'local/jaeger.sh'), 'path'], { encoding: 'utf8' });
  const binary = r.stdout.trim();
  if (r.status !== 0 || binary === '') {
    throw new Error('no Jaeger binary: build it with `bash local/jaeger.sh build` (local/platform.sh deps does)');
  }
  return binary;
};

const byKindName = (docs: Manifest[], kind: string, name: string): Obj => {
  const found = docs.find((d) => d['kind'] === kind && nameOf(d) === name);
  if (!found) throw new Error(`the kind render has no ${kind}/${name}`);
  return found as Obj;
};

const portOf = (endpoint: string): number => Number(endpoint.split(':').pop());

describe('platform chart: Jaeger (tracing.jaeger.enabled)', () => {
  let docs: Manifest[];
  let config: Obj;
  let configText: string;
  beforeAll(() => {
    docs = renderPlatform(platformScenarioFor('kind')).docs;
    configText = String(byKindName(docs, 'ConfigMap', 'eshop-jaeger')['data']['config.yaml']);
    config = parse(configText) as Obj;
  });

  it('is off by default and in the eks scenario, on for kind', () => {
    expect(docs.filter((d) => nameOf(d) === 'eshop-jaeger').map((d) => d['kind']).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
    const eks = renderPlatform(platformScenarioFor('eks')).docs;
    expect(eks.filter((d) => nameOf(d) === 'eshop-jaeger')).toEqual([]);
  });

  it('the Deployment listens, probes and the Service forwards on exactly the ports its config opens', () => {
    const pod = byKindName(docs, 'Deployment', 'eshop-jaeger')['spec']['template']['spec'];
    const container = pod['containers'][0];
    const containerPorts = Object.fromEntries((container['ports'] as Obj[]).map((p) => [p['name'], p['containerPort']]));
    expect(containerPorts).toEqual({
      'otlp-http': portOf(config['receivers']['otlp']['protocols']['http']['endpoint']),
      'otlp-grpc': portOf(config['receivers']['otlp']['protocols']['grpc']['endpoint']),
      query: portOf(config['extensions']['jaeger_query']['http']['endpoint']),
      health: portOf(config['extensions']['healthcheckv2']['http']['endpoint']),
    });
    expect(container['readinessProbe']['httpGet']).toEqual({ path: '/status', port: 'health' });
    expect(container['args']).toEqual(['--config', '/etc/jaeger/config.yaml']);
    expect(container['image']).toBe('jaegertracing/jaeger:2.12.0');
    const service = byKindName(docs, 'Service', 'eshop-jaeger')['spec'];
    expect(Object.fromEntries((service['ports'] as Obj[]).map((p) => [p['port'], containerPorts[p['targetPort']]])))
      .toEqual({ 4318: 4318, 4317: 4317, 16686: 16686 });
    expect(config['extensions']['jaeger_storage']['backends']['memstore']['memory']['max_traces']).toBe(20000);
  });

  describe('its config.yaml, run by the real Jaeger', () => {
    let dir: string;
    let child: ChildProcess | undefined;
    let output = '';
    let ports: { otlp: number; grpc: number; health: number; query: number; queryGrpc: number };

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'eshop-jaeger-chart-'));
      const file = path.join(dir, 'config.yaml');
      writeFileSync(file, configText);
      ports = { otlp: await freePort(), grpc: await freePort(), health: await freePort(), query: await freePort(), queryGrpc: await freePort() };
      // The pod binds 0.0.0.0 on fixed ports; here every listener moves to a free loopback port, nothing else changes.
      const set = {
        'receivers::otlp::protocols::http::endpoint': ports.otlp,
        'receivers::otlp::protocols::grpc::endpoint': ports.grpc,
        'extensions::healthcheckv2::http::endpoint': ports.health,
        'extensions::jaeger_query::http::endpoint': ports.query,
        'extensions::jaeger_query::grpc::endpoint': ports.queryGrpc,
      };
      const args = ['--config', file, ...Object.entries(set).map(([key, port]) => `--set=${key}=127.0.0.1:${port}`)];
      child = spawn(jaegerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
      await eventually(async () => {
        if (child?.exitCode !== null) throw new Error(`jaeger exited (${String(child?.exitCode)}):\n${output}`);
        const res = await fetch(`http://127.0.0.1:${ports.health}/status`);
        expect(res.status).toBe(200);
      }, 30_000);
    }, 60_000);

    afterAll(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts healthy, takes an OTLP/HTTP span on the receiver and returns it from the query API', async () => {
      const traceId = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
      const now = BigInt(Date.now()) * 1_000_000n;
      const body = {
        resourceSpans: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chart-test' } }] },
          scopeSpans: [{
            spans: [{
              traceId, spanId: '0123456789abcdef', name: 'GET /products', kind: 2,
              startTimeUnixNano: String(now), endTimeUnixNano: String(now + 5_000_000n),
            }],
          }],
        }],
      };
      const sent = await fetch(`http://127.0.0.1:${ports.otlp}/v1/traces`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      expect(sent.status).toBe(200);
      await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${ports.query}/api/traces/${traceId}`);
        expect(res.status).toBe(200);
        const { data } = (await res.json()) as { data: { spans: { operationName: string }[]; processes: Record<string, { serviceName: string }> }[] };
        expect(data[0]!.spans.map((s) => s.operationName)).toEqual(['GET /products']);
        expect(Object.values(data[0]!.processes).map((p) => p.serviceName)).toEqual(['chart-test']);
      }, 15_000);
    });
  });
});
