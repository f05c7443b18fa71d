/**
 * Reads each k6 script's exported `options` in Node (k6 modules stubbed, see k6-stub.ts) and checks what
 * k6 would otherwise only reject at run time: executors, rates, thresholds, tags and exec functions.
 * The scripts are not executed here (k6 is not installed on these machines).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

interface Scenario {
  executor: string;
  exec?: string;
  rate?: number;
  startRate?: number;
  stages?: { target: number; duration: string }[];
  preAllocatedVUs?: number;
  maxVUs?: number;
  tags?: Record<string, string>;
}
interface Options {
  scenarios: Record<string, Scenario>;
  thresholds: Record<string, (string | { threshold: string; abortOnFail?: boolean })[]>;
  tags: Record<string, string>;
}
type Script = Record<string, unknown> & { options: Options };

const DIR = path.resolve(__dirname, '..');
const SCENARIO_SCRIPTS = ['async-orders', 'async-ramp', 'catalog-browsing', 'flash-sale', 'sync-orders'];

function load(name: string, env: Record<string, string> = {}): Script {
  (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
  let mod: Script | undefined;
  jest.isolateModules(() => {
    mod = require(path.join(DIR, `${name}.ts`)) as Script;
  });
  return mod!;
}

const ratesOf = (s: Scenario): number[] => [s.rate, s.startRate, ...(s.stages ?? []).map((st) => st.target)].filter((r): r is number => r !== undefined);
const thresholdExprs = (list: Options['thresholds'][string]) => list.map((t) => (typeof t === 'string' ? t : t.threshold));

it('every script in loadtests/k6 except common.ts is a scenario listed here', () => {
  const scripts = readdirSync(DIR).filter((f) => f.endsWith('.ts') && f !== 'common.ts').map((f) => f.replace(/\.ts$/, ''));
  expect(scripts.sort()).toEqual(SCENARIO_SCRIPTS);
});

describe.each(SCENARIO_SCRIPTS)('%s', (name) => {
  const script = load(name, { TEST_ID: 'unit-1' });
  const scenarios = Object.entries(script.options.scenarios);

  it('drives load with an arrival-rate executor whose exec function the script exports', () => {
    expect(scenarios.length).toBeGreaterThan(0);
    for (const [, s] of scenarios) {
      expect(['constant-arrival-rate', 'ramping-arrival-rate']).toContain(s.executor);
      expect(typeof script[s.exec ?? 'default']).toBe('function');
      expect(Math.max(...ratesOf(s))).toBeGreaterThan(0);
      expect(s.preAllocatedVUs).toBeGreaterThan(0);
      expect(s.maxVUs).toBeGreaterThanOrEqual(s.preAllocatedVUs!);
      expect(s.tags?.['workload']).toBeDefined();
    }
    expect(typeof script['setup']).toBe('function');
  });

  it('has error-rate and p95/p99 latency thresholds for each of its scenarios', () => {
    const { thresholds } = script.options;
    for (const [scenario] of scenarios) {
      const failed = thresholds[`http_req_failed{scenario:${scenario}}`];
      const duration = thresholds[`http_req_duration{scenario:${scenario}}`];
      expect(thresholdExprs(failed ?? [])).toContainEqual(expect.stringMatching(/^rate<0\.\d+$/));
      expect(thresholdExprs(duration ?? [])).toEqual([expect.stringMatching(/^p\(95\)<\d+$/), expect.stringMatching(/^p\(99\)<\d+$/)]);
    }
  });

  it('tags every sample with testid from TEST_ID (default "local")', () => {
    expect(script.options.tags).toEqual({ testid: 'unit-1' });
    expect(load(name).options.tags).toEqual({ testid: 'local' });
  });

  it('scales its arrival rates with LOAD_FACTOR', () => {
    const peak = (s: Script) => Math.max(...Object.values(s.options.scenarios).flatMap(ratesOf));
    expect(peak(load(name, { LOAD_FACTOR: '4' }))).toBe(4 * peak(script));
  });
});

it('flash sale: 409 (sold out) is an expected status, not a failure; its requests use that callback', () => {
  const script = load('flash-sale');
  expect(script['FLASH_SALE_STATUSES']).toEqual({ expectedStatuses: [{ min: 200, max: 299 }, 409] });
  expect(String(script['buy'])).toMatch(/responseCallback: FLASH_SALE_STATUSES/);
});

it('async ramp outruns one consumer long enough for the autoscaler: ≥ 5 min at its peak, then stops', () => {
  const { stages } = load('async-ramp').options.scenarios['async_ramp']!;
  const peak = Math.max(...stages!.map((s) => s.target));
  const held = stages!.filter((s, i) => s.target === peak && stages![i - 1]?.target === peak);
  expect(held.map((s) => s.duration)).toEqual(['5m']);
  expect(stages!.at(-1)!.target).toBe(0);
  expect(load('async-ramp', { HOLD: '15m' }).options.scenarios['async_ramp']!.stages!.map((s) => s.duration)).toContain('15m');
});

it('rejects a LOAD_FACTOR that is not a positive number, naming it', () => {
  expect(() => load('catalog-browsing', { LOAD_FACTOR: 'fast' })).toThrow(/LOAD_FACTOR="fast": must be a positive number/);
});
