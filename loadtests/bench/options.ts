/** What one benchmark run does: window lengths, load levels, sizes. Every loop is bounded by these. */
export interface BenchOptions {
  /** A seconds-long run that only proves the benchmark works (CI, development); writes nothing under docs/. */
  readonly smoke: boolean;
  /** Seconds of each measured catalogue window (GET through the gateway and direct). */
  readonly catalogSeconds: number;
  /** Interleaved direct/gateway rounds per catalogue endpoint (their mean is reported). */
  readonly catalogRounds: number;
  readonly catalogConnections: number;
  /** Seconds of each measured order-intake window (one per mode and concurrency). */
  readonly orderSeconds: number;
  /** Connection counts of the sync/async intake comparison, in increasing order. */
  readonly orderConnections: readonly number[];
  /** Seconds of the unmeasured warm-up before each window. */
  readonly warmupSeconds: number;
  /** Longest wait for the async orders of one intake level to be decided before moving on. */
  readonly drainTimeoutSeconds: number;
  /** Async orders in each backlog that 1, 2, … consumer processes drain. */
  readonly backlogOrders: number;
  readonly consumerCounts: readonly number[];
  /** Products in the benchmark catalogue and the stock each starts with (plenty: stock never runs out). */
  readonly products: number;
  readonly stockPerProduct: number;
  /** Seconds of each reference-ceiling window (bare node:http, MariaDB). */
  readonly ceilingSeconds: number;
  /** Records Kafka's ProducerPerformance sends (bounded by count and by a 90 s kill timer). */
  readonly kafkaPerfRecords: number;
  readonly kafkaPerfRecordSize: number;
  /** Seconds of the profiled windows at the end (not part of the figures); 0 skips profiling. */
  readonly profileSeconds: number;
  /** LOG_LEVEL of the service processes (`warn` keeps per-request access logs out of the measurement). */
  readonly serviceLogLevel: string;
  /** Wait up to this many minutes for other test runs (jest, .ci/run, platform.sh test) to finish first. */
  readonly waitQuietMinutes: number;
  /** Keep the benchmark's databases, topics and consumer groups (for debugging). */
  readonly keep: boolean;
  /** Abort (and clean up) when the whole run takes longer than this. */
  readonly maxMinutes: number;
}

const FULL: BenchOptions = {
  smoke: false,
  catalogSeconds: 6,
  catalogRounds: 2,
  catalogConnections: 64,
  orderSeconds: 8,
  orderConnections: [8, 32, 64, 128],
  warmupSeconds: 1,
  drainTimeoutSeconds: 90,
  backlogOrders: 4000,
  consumerCounts: [1, 2, 3],
  products: 200,
  stockPerProduct: 1_000_000,
  ceilingSeconds: 5,
  kafkaPerfRecords: 500_000,
  kafkaPerfRecordSize: 256,
  profileSeconds: 5,
  serviceLogLevel: 'warn',
  waitQuietMinutes: 0,
  keep: false,
  maxMinutes: 15,
};

const SMOKE: BenchOptions = {
  ...FULL,
  smoke: true,
  catalogSeconds: 1,
  catalogRounds: 1,
  orderSeconds: 1,
  // One level and one consumer count: the smoke proves every phase runs (CI), not how figures scale.
  orderConnections: [8],
  warmupSeconds: 0.5,
  drainTimeoutSeconds: 30,
  backlogOrders: 100,
  consumerCounts: [1],
  products: 20,
  ceilingSeconds: 1,
  kafkaPerfRecords: 5_000,
  profileSeconds: 0,
  maxMinutes: 5,
};

const USAGE = `npm run bench [-- OPTIONS]

  --smoke                 seconds-long run that proves the benchmark works; results only in .local/bench/
  --order-seconds=N       length of each sync/async intake window (default ${FULL.orderSeconds})
  --connections=8,32,...  intake concurrency levels (default ${FULL.orderConnections.join(',')})
  --catalog-seconds=N     length of each catalogue window (default ${FULL.catalogSeconds})
  --backlog=N             async orders per consumer-drain backlog (default ${FULL.backlogOrders})
  --consumers=1,2,3       consumer process counts to drain a backlog with (default ${FULL.consumerCounts.join(',')})
  --log-level=LEVEL       LOG_LEVEL of the services (default ${FULL.serviceLogLevel}; info adds access logs)
  --wait-quiet=MINUTES    first wait (at most MINUTES) until no jest / .ci/run / platform.sh test runs
  --keep                  keep the benchmark's databases, topics and consumer groups
  --help`;

/** Parses `--name=value` flags over the full or smoke defaults; exits with usage on anything unknown. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) usage(`unexpected argument ${JSON.stringify(arg)}`);
    flags.set(match[1]!, match[2] ?? 'true');
  }
  if (flags.has('help')) usage();
  const base = flags.get('smoke') === 'true' ? SMOKE : FULL;
  const take = (name: string) => {
    const value = flags.get(name);
    flags.delete(name);
    return value;
  };
  take('smoke');
  const options: BenchOptions = {
    ...base,
    orderSeconds: number(take('order-seconds'), base.orderSeconds, 'order-seconds'),
    orderConnections: list(take('connections'), base.orderConnections, 'connections'),
    catalogSeconds: number(take('catalog-seconds'), base.catalogSeconds, 'catalog-seconds'),
    backlogOrders: number(take('backlog'), base.backlogOrders, 'backlog'),
    consumerCounts: list(take('consumers'), base.consumerCounts, 'consumers'),
    serviceLogLevel: take('log-level') ?? base.serviceLogLevel,
    waitQuietMinutes: number(take('wait-quiet'), base.waitQuietMinutes, 'wait-quiet'),
    keep: take('keep') === 'true' || base.keep,
  };
  if (flags.size > 0) usage(`unknown option --${[...flags.keys()][0]}`);
  if (options.backlogOrders > 20_000) usage('--backlog must be at most 20000 (the run must stay bounded)');
  if (options.orderSeconds > 30 || options.catalogSeconds > 30) usage('windows must be at most 30 s');
  if (options.orderConnections.some((c) => c > 512)) usage('--connections must be at most 512 each');
  if (options.consumerCounts.some((c) => c > 12)) usage('--consumers must be at most 12 (the topic has 12 partitions)');
  return options;
}

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) usage(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

function list(value: string | undefined, fallback: readonly number[], name: string): number[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map(Number);
  if (items.length === 0 || items.some((n) => !Number.isInteger(n) || n < 1)) {
    usage(`--${name} must be a comma-separated list of positive integers, got ${JSON.stringify(value)}`);
  }
  return items;
}

function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}\n`);
  console.error(USAGE);
  process.exit(problem ? 2 : 0);
}
