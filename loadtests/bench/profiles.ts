import { existsSync, readFileSync } from 'node:fs';
import { round } from './load';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where one process spent its CPU during a profiled window, as % of its busy (non-idle) samples. */
export interface ProfileSummary {
  readonly process: string;
  readonly window: string;
  readonly seconds: number;
  /** Share of the window the process was on a CPU (non-idle samples), in % of one core. */
  readonly busyPercent: number;
  /** By package (express, sequelize, mysql2, undici, kafkajs, pino, node core, GC, …). */
  readonly categories: { name: string; percent: number }[];
  /** Hottest functions by self time. */
  readonly top: { fn: string; where: string; percent: number }[];
}

/** The package or kind of code a frame belongs to. */
function category(frame: CallFrame): string {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return '(idle)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8 / native (program)';
  if (fn === '(root)') return '(root)';
  if (url === '') return 'native builtins';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const service = /\/services\/([^/]+)\//.exec(url);
  if (service) return `@eshop/${service[1]} (our code)`;
  return 'other';
}

function where(frame: CallFrame): string {
  const { url, lineNumber } = frame;
  if (url === '') return '';
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(services\/)/, '$1');
  return `${short}:${lineNumber + 1}`;
}

/** Reads a .cpuprofile and attributes each sample's time to its (self) frame. */
export function summarizeProfile(file: string, process: string, window: string): ProfileSummary | undefined {
  if (!existsSync(file)) return undefined;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; us: number }>();
  let busy = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!;
    const cat = category(frame);
    total += us;
    if (cat === '(idle)' || cat === '(root)') continue;
    busy += us;
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const entry = functions.get(key) ?? { fn: frame.functionName || '(anonymous)', where: where(frame), us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const pct = (us: number) => (busy > 0 ? round((us / busy) * 100, 1) : 0);
  return {
    process,
    window,
    seconds: round((profile.endTime - profile.startTime) / 1e6, 1),
    busyPercent: total > 0 ? round((busy / total) * 100, 1) : 0,
    categories: [...categories]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, us]) => ({ name, percent: pct(us) })),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 10)
      .map((f) => ({ fn: f.fn, where: f.where, percent: pct(f.us) })),
  };
}
