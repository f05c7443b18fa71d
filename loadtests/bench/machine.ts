import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly cpuModel: string;
  readonly nproc: number;
  /** `free -m`, verbatim. */
  readonly free: string;
  readonly os: string;
  readonly kernel: string;
  readonly node: string;
  readonly java: string;
  readonly kafka: string;
  readonly mariadb: string;
  readonly loadAverageAtStart: number[];
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
  } catch (err) {
    const e = err as { stderr?: string };
    return e.stderr?.trim() ?? 'unknown';
  }
}

/** What the figures were measured on: /proc/cpuinfo, nproc, free, versions. */
export function describeMachine(versions: { kafka: string; mariadb: string }): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const release = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  // `java -version` prints to stderr.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr?.split('\n')[0]?.trim() || 'unknown';
  return {
    cpuModel: model,
    nproc: Number(run('nproc', [])),
    free: run('free', ['-m']),
    os: release,
    kernel: os.release(),
    node: process.version,
    java,
    kafka: versions.kafka,
    mariadb: versions.mariadb,
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
