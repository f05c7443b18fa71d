/**
 * Preloaded (`node --require`) into every service process the benchmark starts. SIGUSR2 starts a V8
 * CPU profile in-process; the next SIGUSR2 stops it and writes BENCH_PROFILE_DIR/<name>-<n>.cpuprofile
 * (Chrome DevTools format). The services' own code is untouched, and a process that never gets the
 * signal pays nothing. Like `node --cpu-prof`, but for a chosen window instead of the whole lifetime.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector';

const dir = process.env.BENCH_PROFILE_DIR;
const name = process.env.BENCH_PROFILE_NAME ?? String(process.pid);

if (dir) {
  let session: Session | undefined;
  let taken = 0;
  process.on('SIGUSR2', () => {
    if (!session) {
      const s = new Session();
      s.connect();
      session = s;
      s.post('Profiler.enable', () => s.post('Profiler.setSamplingInterval', { interval: 500 }, () => s.post('Profiler.start')));
      return;
    }
    const s = session;
    session = undefined;
    s.post('Profiler.stop', (err, result) => {
      s.disconnect();
      if (err) return;
      const file = path.join(dir, `${name}-${++taken}.cpuprofile`);
      // Written under a temporary name first, so the benchmark never reads half a file.
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
