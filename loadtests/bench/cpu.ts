import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ; 100 on Linux almost everywhere). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process whose CPU time a window reports, by the name the report uses. */
export interface Watched {
  readonly name: string;
  readonly pid: number;
}

interface Snapshot {
  readonly at: number;
  readonly ticks: Map<number, number>;
  readonly machineBusy: number;
  readonly machineTotal: number;
}

/** CPU used during one window: per watched process in % of one core (like top), and the whole machine. */
export interface CpuShare {
  readonly seconds: number;
  /** Name → % of one core (100 = one core busy all window). */
  readonly processes: Record<string, number>;
  /** Busy % of all cores together, from /proc/stat (100 = every core busy). */
  readonly machineBusyPercent: number;
  /** Core-% used by processes that are not watched: other jobs on the machine, the kernel. */
  readonly otherPercent: number;
}

function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Samples /proc at the start and end of a window; `watch` may change between windows. */
export class CpuSampler {
  private readonly cores: number;

  constructor(private readonly watched: () => readonly Watched[]) {
    this.cores = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || 1;
  }

  begin(): Snapshot {
    const ticks = new Map<number, number>();
    for (const w of this.watched()) {
      const t = processTicks(w.pid);
      if (t !== undefined) ticks.set(w.pid, t);
    }
    const m = machineTicks();
    return { at: performance.now(), ticks, machineBusy: m.busy, machineTotal: m.total };
  }

  end(start: Snapshot): CpuShare {
    const seconds = (performance.now() - start.at) / 1000;
    const processes: Record<string, number> = {};
    let ours = 0;
    for (const w of this.watched()) {
      // A process started during the window (a consumer being scaled out) counts from zero.
      const before = start.ticks.get(w.pid) ?? 0;
      const after = processTicks(w.pid);
      if (after === undefined) continue;
      const percent = ((after - before) / CLK_TCK / seconds) * 100;
      processes[w.name] = round1((processes[w.name] ?? 0) + percent);
      ours += percent;
    }
    const m = machineTicks();
    const total = m.total - start.machineTotal;
    const busyFraction = total > 0 ? (m.busy - start.machineBusy) / total : 0;
    return {
      seconds: round1(seconds),
      processes,
      machineBusyPercent: round1(busyFraction * 100),
      otherPercent: round1(Math.max(0, busyFraction * this.cores * 100 - ours)),
    };
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Pids of running test jobs (jest, .ci/run, platform.sh test) other than this process. */
export function activeTestRuns(): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (/jest|\.ci\/run|platform\.sh test/.test(command)) found.push({ pid: Number(entry), command: command.slice(0, 160) });
  }
  return found;
}
