import type { CatalogEndpointResult } from './catalog-reads';
import type { Ceilings } from './ceilings';
import type { DrainResult } from './consumer-drain';
import { round } from './load';
import type { Machine } from './machine';
import type { BenchOptions } from './options';
import type { IntakeLevel } from './order-intake';
import type { ProfileSummary } from './profiles';
import type { TracingOverhead } from './tracing-overhead';

/** Stock bookkeeping after the measured phases: nothing oversold, nothing lost, stock never ran out. */
export interface Invariants {
  readonly initialStock: number;
  readonly remainingStock: number;
  readonly confirmedUnits: number;
  /** initial = remaining + units of confirmed orders. */
  readonly consistent: boolean;
  readonly lowestProductStock: number;
  readonly orders: { sync: number; asyncConfirmed: number; asyncRejected: number; asyncPending: number };
  readonly deadLetters: number;
}

export interface Target {
  readonly id: string;
  readonly description: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
  /** By how much it is missed, or why it counts as met. */
  readonly detail: string;
}

export interface BenchResults {
  readonly schema: 1;
  readonly runId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly command: string;
  readonly options: BenchOptions;
  readonly machine: Machine;
  readonly quiet: { readonly waitedSeconds: number; readonly gaveUp: boolean; readonly activeAtStart: string[] };
  readonly setup: {
    readonly products: number;
    readonly stockPerProduct: number;
    readonly serviceLogLevel: string;
    readonly partitions: number;
    readonly databases: string[];
    readonly topics: string[];
  };
  readonly ceilings: Ceilings;
  readonly catalog: CatalogEndpointResult[];
  readonly intake: IntakeLevel[];
  readonly drain: DrainResult[];
  /** What tracing costs the sync order path (issue 17); absent in results written before it existed. */
  readonly tracing?: TracingOverhead;
  readonly invariants: Invariants;
  readonly profiles: ProfileSummary[];
  readonly targets: Target[];
}

const pct = (n: number) => `${round(n, 1)} %`;

/** The issue's targets, judged on this run's figures (ratios, since the machine is noisy). */
export function evaluateTargets(r: Omit<BenchResults, 'targets'>): Target[] {
  const targets: Target[] = [];
  for (const c of r.catalog) {
    targets.push({
      id: `catalog ${c.endpoint}`,
      description: `catalogue reads through the gateway vs direct: ${c.endpoint}`,
      target: '≥ 70 % of direct',
      measured: `${c.gatewayPerSecond} vs ${c.directPerSecond} req/s = ${pct(c.ratioPercent)}`,
      met: c.ratioPercent >= 70,
      detail: c.ratioPercent >= 70 ? 'met' : `${round(70 - c.ratioPercent, 1)} points short`,
    });
  }
  if (r.intake.length > 0) {
    const peakSync = Math.max(...r.intake.map((l) => l.sync.load.okPerSecond));
    const peakAsync = Math.max(...r.intake.map((l) => l.async.load.okPerSecond));
    const ratio = peakSync > 0 ? peakAsync / peakSync : 0;
    targets.push({
      id: 'async ≥ 3× sync',
      description: 'async vs sync intake through the gateway, peak 2xx/s over the concurrency levels, one consumer running on the same cores',
      target: '≥ 3.0×',
      measured: `${round(peakAsync)} vs ${round(peakSync)} orders/s = ${round(ratio, 2)}× (per level: ${r.intake.map((l) => `c${l.connections} ${l.asyncToSync}×`).join(', ')})`,
      met: ratio >= 3,
      detail: ratio >= 3 ? 'met' : `${round(ratio, 2)}× is ${pct((1 - ratio / 3) * 100)} short of 3×`,
    });
    if (r.drain.length > 0) {
      const alone = Math.max(...r.drain.map((d) => d.intake.load.okPerSecond));
      const aloneRatio = peakSync > 0 ? alone / peakSync : 0;
      targets.push({
        id: 'async (no consumer) ≥ 3× sync',
        description:
          'async intake through the gateway with no consumer competing for the CPU (the backlog phase, 64 connections; as when consumers run on other nodes) vs the peak sync rate',
        target: '≥ 3.0×',
        measured: `${round(alone)} vs ${round(peakSync)} orders/s = ${round(aloneRatio, 2)}×`,
        met: aloneRatio >= 3,
        detail: aloneRatio >= 3 ? 'met' : `${round(aloneRatio, 2)}× is ${pct((1 - aloneRatio / 3) * 100)} short of 3×`,
      });
    }
    const failures = r.intake.reduce((a, l) => a + l.async.load.errors + (l.async.load.responses - l.async.load.ok), 0);
    const undecided = r.intake.reduce((a, l) => a + l.asyncFinal.pending, 0);
    targets.push({
      id: 'async zero errors',
      description: 'async intake answers 202 to every request at every level, and every accepted order is decided',
      target: '0 errors, 0 non-2xx, 0 left pending',
      measured: `${failures} errors/non-2xx; ${undecided} left pending`,
      met: failures === 0 && undecided === 0,
      detail: failures === 0 && undecided === 0 ? 'met' : `${failures} failed requests, ${undecided} orders not decided`,
    });
    const ceiling = r.ceilings.mariadbOrderTransaction.perSecond;
    const bestAsync = Math.max(peakAsync, ...r.drain.map((d) => d.intake.load.okPerSecond));
    const share = ceiling > 0 ? (bestAsync / ceiling) * 100 : 0;
    targets.push({
      id: 'async ≥ 50 % of the DB transaction ceiling',
      description: 'best async intake (with or without a consumer running) vs the measured order + item + outbox transaction rate (32 connections)',
      target: '≥ 50 %',
      measured: `${round(bestAsync)} vs ${ceiling} tx/s = ${pct(share)}`,
      met: share >= 50,
      detail: share >= 50 ? 'met' : `${round(50 - share, 1)} points short`,
    });
  }
  if (r.drain.length > 1) {
    const steps: string[] = [];
    let ok = true;
    for (let i = 1; i < r.drain.length; i++) {
      const prev = r.drain[i - 1]!;
      const cur = r.drain[i]!;
      const grew = cur.steadyOrdersPerSecond >= prev.steadyOrdersPerSecond * 1.05;
      const saturated = prev.cpu.machineBusyPercent >= 90;
      if (!grew && !saturated) ok = false;
      steps.push(
        `${prev.consumers}→${cur.consumers}: ${prev.steadyOrdersPerSecond}→${cur.steadyOrdersPerSecond}/s ` +
          `(${grew ? 'grew' : saturated ? `flat, CPU already ${prev.cpu.machineBusyPercent} % busy` : `flat while CPU ${prev.cpu.machineBusyPercent} % busy`}` +
          `${prev.cpu.otherPercent >= 25 ? `; ${prev.cpu.otherPercent} % of a core went to other jobs` : ''})`,
      );
    }
    targets.push({
      id: 'consumers scale until CPU saturates',
      description: 'steady drain rate grows with each added consumer process, unless the machine was already saturated (≥ 90 % busy)',
      target: 'grows ≥ 5 % per consumer, or CPU ≥ 90 %',
      measured: steps.join('; '),
      met: ok,
      detail: ok ? 'met' : 'a step neither grew nor hit CPU saturation',
    });
  }
  return targets;
}
