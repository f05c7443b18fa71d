import bytes from 'bytes';
import { z } from 'zod';

/** One environment variable: where it comes from, how it is checked, and what it means. */
export interface ConfigVariable<T> {
  readonly env: string;
  readonly schema: z.ZodType<T>;
  readonly doc: string;
  /** Raw default used when the variable is unset; `undefined` means the variable is required. */
  readonly default?: string;
  /** Never echo the value in error messages or docs. */
  readonly secret?: boolean;
}

export type ConfigDefinition = Record<string, ConfigVariable<unknown>>;

export type ConfigOf<D extends ConfigDefinition> = {
  readonly [K in keyof D]: D[K] extends ConfigVariable<infer T> ? T : never;
};

/** Thrown at start-up when one or more variables are missing or invalid; the message names each one. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

interface VariableOptions {
  doc: string;
  default?: string | number | boolean;
  secret?: boolean;
}

function variable<T>(env: string, schema: z.ZodType<T>, options: VariableOptions): ConfigVariable<T> {
  return {
    env,
    schema,
    doc: options.doc,
    default: options.default === undefined ? undefined : String(options.default),
    secret: options.secret ?? false,
  };
}

/** Builders for the kinds of variables the services use; each validates the raw string. */
export const env = {
  string: (name: string, options: VariableOptions) => variable(name, z.string().trim().min(1, 'must not be empty'), options),
  /** A string that may be set to the empty string (for example a passwordless local database user). */
  optionalString: (name: string, options: VariableOptions) => variable(name, z.string(), options),
  integer: (name: string, options: VariableOptions & { min?: number; max?: number }) =>
    variable(
      name,
      z
        .string()
        .trim()
        .regex(/^-?\d+$/, 'must be an integer')
        .transform(Number)
        .pipe(z.number().int().min(options.min ?? Number.MIN_SAFE_INTEGER).max(options.max ?? Number.MAX_SAFE_INTEGER)),
      options,
    ),
  port: (name: string, options: VariableOptions) =>
    variable(
      name,
      z
        .string()
        .trim()
        .regex(/^\d+$/, 'must be a TCP port number')
        .transform(Number)
        .pipe(z.number().int().min(0, 'must be 0-65535').max(65535, 'must be 0-65535')),
      options,
    ),
  boolean: (name: string, options: VariableOptions) =>
    variable(
      name,
      z
        .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
        .transform((v) => v === 'true' || v === '1' || v === 'yes'),
      options,
    ),
  /** Comma-separated list, e.g. Kafka bootstrap servers `host1:9092,host2:9092`. */
  list: (name: string, options: VariableOptions) =>
    variable(
      name,
      z
        .string()
        .transform((v) =>
          v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
        )
        .pipe(z.array(z.string()).min(1, 'must list at least one entry')),
      options,
    ),
  oneOf: <const T extends readonly [string, ...string[]]>(name: string, values: T, options: VariableOptions) =>
    variable(name, z.enum(values, { message: `must be one of ${values.join(', ')}` }), options),
  url: (name: string, options: VariableOptions) =>
    variable(name, z.url({ message: 'must be an absolute URL' }), options),
  /** A size in bytes written as `512`, `100kb`, `1mb` (the notation of Express's body parsers), read as a number of bytes. */
  byteSize: (name: string, options: VariableOptions & { min?: number; max?: number }) => {
    const min = options.min ?? 0;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    return variable(
      name,
      z
        .string()
        .trim()
        .transform((value, ctx) => {
          const parsed = /^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i.test(value) ? bytes.parse(value) : null;
          if (parsed === null || !Number.isFinite(parsed)) {
            ctx.addIssue({ code: 'custom', message: 'must be a size such as 512, 100kb or 1mb' });
            return z.NEVER;
          }
          return parsed;
        })
        .pipe(z.number().int().min(min, `must be at least ${bytes.format(min)}`).max(max, `must be at most ${bytes.format(max)}`)),
      options,
    );
  },
};

/** Reads and validates every variable of a definition; reports all problems at once. */
export function loadConfig<D extends ConfigDefinition>(
  definition: D,
  source: NodeJS.ProcessEnv = process.env,
): ConfigOf<D> {
  const problems: string[] = [];
  const result: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(definition)) {
    const raw = source[v.env] ?? v.default;
    if (raw === undefined) {
      problems.push(`${v.env} is required but not set (${v.doc})`);
      continue;
    }
    const parsed = v.schema.safeParse(raw);
    if (parsed.success) {
      result[key] = parsed.data;
    } else {
      const reason = parsed.error.issues.map((i) => i.message).join('; ');
      const shown = v.secret ? '' : `, got ${JSON.stringify(raw)}`;
      problems.push(`${v.env} ${reason}${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result as ConfigOf<D>;
}

/**
 * For entry points: loads the config, or prints the variables at fault and exits 2 without a stack
 * trace (a misconfigured Deployment shows one clear line in `kubectl logs`).
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

/** Markdown table of a definition, used to generate docs/configuration.md. */
export function describeConfig(definition: ConfigDefinition): string {
  const rows = Object.values(definition).map((v) => {
    const def = v.default === undefined ? '*(required)*' : v.secret ? '*(set)*' : `\`${v.default === '' ? '""' : v.default}\``;
    return `| \`${v.env}\` | ${def} | ${v.doc} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Variables shared by every HTTP service. */
export const commonVariables = {
  httpHost: env.string('HTTP_HOST', {
    doc: 'Address the HTTP server binds to: 0.0.0.0 in a container; 127.0.0.1 keeps a local process off the network.',
    default: '0.0.0.0',
  }),
  logLevel: env.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
    doc: 'Minimum level of the JSON log lines written to stdout.',
    default: 'info',
  }),
  shutdownTimeoutMs: env.integer('SHUTDOWN_TIMEOUT_MS', {
    doc: 'Upper bound for a graceful shutdown (drain HTTP, stop consumers, flush producers, close pools) before the process exits anyway.',
    default: 20000,
    min: 0,
  }),
  shutdownDelayMs: env.integer('SHUTDOWN_DELAY_MS', {
    doc: 'Time between SIGTERM and closing the listener, while /readyz already fails, so load balancers stop routing first (Kubernetes endpoints propagation).',
    default: 0,
    min: 0,
  }),
  httpBodyLimit: env.byteSize('HTTP_BODY_LIMIT', {
    doc: 'Largest accepted request body (512, 100kb, 1mb); larger requests get 413.',
    default: '100kb',
    min: 1,
    max: 64 * 1024 * 1024,
  }),
  httpJsonMaxDepth: env.integer('HTTP_JSON_MAX_DEPTH', {
    doc: 'Deepest nesting of arrays and objects accepted in a JSON body (checked before parsing); deeper bodies get 400.',
    default: 16,
    min: 1,
    max: 1000,
  }),
  httpMaxHeaderBytes: env.integer('HTTP_MAX_HEADER_BYTES', {
    doc: 'Largest total size of a request\'s header block; larger requests get 431.',
    default: 16384,
    min: 1024,
    max: 1048576,
  }),
  httpHeadersTimeoutMs: env.integer('HTTP_HEADERS_TIMEOUT_MS', {
    doc: 'Time a client has to send the complete request headers (slow-header clients get 408 and are disconnected).',
    default: 10000,
    min: 1000,
  }),
  httpRequestTimeoutMs: env.integer('HTTP_REQUEST_TIMEOUT_MS', {
    doc: 'Time a client has to send the complete request, body included (slow-body clients get 408 and are disconnected).',
    default: 30000,
    min: 1000,
  }),
};

/** The HTTP server settings every service takes from commonVariables. */
export type HttpServerLimits = {
  readonly httpJsonMaxDepth: number;
  readonly httpMaxHeaderBytes: number;
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
};

/** Database variables with the service's prefix, e.g. PRODUCT_DB_HOST. */
export function databaseVariables<P extends string>(prefix: P, defaultName: string) {
  return {
    dbHost: env.string(`${prefix}_DB_HOST`, { doc: 'MySQL/MariaDB host.', default: '127.0.0.1' }),
    dbPort: env.port(`${prefix}_DB_PORT`, { doc: 'MySQL/MariaDB port.', default: 3306 }),
    dbUser: env.string(`${prefix}_DB_USER`, { doc: 'Database user.', default: 'eshop' }),
    dbPassword: env.optionalString(`${prefix}_DB_PASSWORD`, {
      doc: 'Database password (from a Kubernetes Secret in a cluster).',
      secret: true,
    }),
    dbName: env.string(`${prefix}_DB_NAME`, { doc: 'Database (schema) name.', default: defaultName }),
    dbPoolMax: env.integer(`${prefix}_DB_POOL_MAX`, {
      doc: 'Largest number of pooled connections per process (MariaDB throughput drops past ~32).',
      default: 20,
      min: 1,
      max: 200,
    }),
  };
}

/** The values `databaseVariables` produces, as read by `loadConfig`. */
export interface DatabaseConfig {
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbPassword: string;
  dbName: string;
  dbPoolMax: number;
}

/** Connection options for `createDatabase` from a config that has the `<PREFIX>_DB_*` variables. */
export function databaseOptions(config: DatabaseConfig) {
  return {
    host: config.dbHost,
    port: config.dbPort,
    user: config.dbUser,
    password: config.dbPassword,
    database: config.dbName,
    poolMax: config.dbPoolMax,
  };
}

/** Kafka variables of a process that produces or consumes; `clientId` is its default KAFKA_CLIENT_ID. */
export function kafkaVariables(clientId: string) {
  return {
    kafkaBrokers: env.list('KAFKA_BROKERS', {
      doc: 'Comma-separated Kafka bootstrap servers.',
      default: '127.0.0.1:9092',
    }),
    kafkaClientId: env.string('KAFKA_CLIENT_ID', {
      doc: 'Client id this process reports to Kafka (broker logs, quotas, the consumer group\'s member list).',
      default: clientId,
    }),
  };
}
