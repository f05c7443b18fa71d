/**
 * The service images, checked without a Docker engine (there is none on the project's machines).
 *
 * The Dockerfile is parsed and its build replayed per service in a temp folder: the build context is the
 * repository filtered by .dockerignore, every COPY and WORKDIR is applied as written, and the RUN steps
 * execute as written (the tsc build and the production install script), except two that cannot run here:
 * the build stage's `npm ci` (the repository's own install of the same lockfile is linked instead) and the
 * runtime's `apt-get install tini` (needs root and a Debian mirror; tini is not between node and the test).
 * Every entry point then starts from the replayed runtime stage with only the image's ENV: the services
 * must stop at their configuration check (exit 2, naming the missing variable), which they reach only after
 * every module they import at start-up has loaded from production dependencies alone.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { decodeJwt } from 'jose';
import { testAuthEnv } from '@eshop/test-support';

const REPO = resolve(__dirname, '..', '..');
const SERVICES = { gateway: 8080, product: 8081, order: 8082 } as const;
type Service = keyof typeof SERVICES;
const IMAGE_OF: Record<Service, string> = { gateway: 'eshop/gateway', product: 'eshop/product', order: 'eshop/order' };
const run = promisify(execFile);

// ------------------------------------------------------------------------------------------ Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) return; // comments (also inside continuations)
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    if (full === '') return;
    const [keyword = '', ...rest] = full.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: full.slice(keyword.length).trim(), line: startLine });
  });

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`Dockerfile line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ base: match[1]!, name: match[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name, value] = splitArg(instruction.args);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  return eq < 0 ? [args, undefined] : [args.slice(0, eq), args.slice(eq + 1)];
}

/** `${NAME}` and `$NAME` as Docker expands them in FROM, COPY, WORKDIR, ENV, EXPOSE and USER. */
function expand(text: string, vars: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '');
}

/** ENV NAME=value NAME2=value2 (the only ENV form the Dockerfile uses). */
function parseEnv(args: string): Array<[string, string]> {
  return args.split(/\s+/).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`ENV ${args}: write NAME=value pairs`);
    return [pair.slice(0, eq), pair.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
  });
}

function execForm(args: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${what} ${args} is in shell form: write it as a JSON array (exec form)`);
  }
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === 'string')) throw new Error(`${what} ${args}: not an array of strings`);
  return parsed as string[];
}

// -------------------------------------------------------------------------------------- .dockerignore

interface IgnoreRule {
  negated: boolean;
  pattern: string;
  regex: RegExp;
}

/** Go filepath.Match plus `**`, as Docker's patternmatcher reads .dockerignore. */
function globToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        out += '(?:.*/)?';
      } else {
        out += '.*';
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function readDockerignore(): IgnoreRule[] {
  return readFileSync(join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = posix.normalize(negated ? line.slice(1) : line).replace(/^\/+/, '');
      return { negated, pattern, regex: globToRegex(pattern) };
    });
}

/** Docker's rule: the last matching pattern wins, and a pattern that matches a folder matches all below it. */
function isIgnored(path: string, rules: IgnoreRule[]): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.regex.test(prefix))) ignored = !rule.negated;
  }
  return ignored;
}

/** Whether some `!pattern` could re-include a path below an ignored folder (so the walk must go in). */
function mayReinclude(dir: string, rules: IgnoreRule[]): boolean {
  const dirSegments = dir.split('/');
  return rules.some((rule) => {
    if (!rule.negated) return false;
    if (rule.pattern.includes('**')) return true; // could match at any depth
    const segments = rule.pattern.split('/');
    return segments.length > dirSegments.length && dirSegments.every((segment, i) => globToRegex(segments[i]!).test(segment));
  });
}

/** Files of the build context below `from` (relative to the repository), as Docker would send them. */
function contextFiles(from: string, rules: IgnoreRule[]): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(REPO, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const ignored = isIgnored(path, rules);
      if (entry.isDirectory()) {
        if (!ignored || mayReinclude(path, rules)) walk(path);
      } else if (!ignored) {
        files.push(path);
      }
    }
  };
  if (lstatSync(join(REPO, from)).isDirectory()) walk(from);
  else if (!isIgnored(from, rules)) files.push(from);
  return files;
}

// ------------------------------------------------------------------------------------------- replay

const NODE_BIN = dirname(process.execPath);

interface Runtime {
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string;
  expose: string[];
  /** RUN steps that were not executed, with the reason. */
  skipped: string[];
}

/** RUN steps this machine cannot execute, each with what stands in for it. */
const NOT_REPLAYED: Array<{ stage: string; pattern: RegExp; instead: (stageRoot: string, workdir: string) => void }> = [
  {
    // Same lockfile, already installed by `npm ci` in the repository: link it instead of a second full install.
    stage: 'build',
    pattern: /^npm ci\b/,
    instead: (stageRoot, workdir) => linkRepositoryModules(join(stageRoot, workdir)),
  },
  { stage: 'runtime', pattern: /^apt-get update\b/, instead: () => undefined },
];

function linkRepositoryModules(into: string): void {
  const modules = join(into, 'node_modules');
  mkdirSync(join(modules, '@eshop'), { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry !== '@eshop') symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  // Workspace links point into the replayed tree, as npm ci would make them.
  symlinkSync('../../services/common', join(modules, '@eshop', 'common'));
  for (const service of Object.keys(SERVICES)) {
    const nested = join(REPO, 'services', service, 'node_modules');
    if (existsSync(nested) && existsSync(join(into, 'services', service))) symlinkSync(nested, join(into, 'services', service, 'node_modules'));
  }
}

/** COPY semantics: a file lands in `target` (or inside it when `targetIsDir`), a folder's contents are merged into it. */
async function copyInto(source: string, target: string, targetIsDir: boolean): Promise<void> {
  if (lstatSync(source).isDirectory()) {
    mkdirSync(target, { recursive: true });
    // coreutils, asynchronously: fs.cpSync would block the event loop and serialize the services' replays.
    await run('cp', ['-a', `${source}/.`, `${target}/`]);
  } else {
    const dest = targetIsDir ? join(target, posix.basename(source)) : target;
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(source, dest, { verbatimSymlinks: true });
  }
}

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  vars: Map<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string;
  expose: string[];
}

interface ReplayContext {
  label: string;
  buildArgs: Map<string, string>;
  /** Roots of the stages replayed so far, by name, for COPY --from. */
  stageRoots: Map<string, string>;
  skipped: string[];
}

/** Applies instructions of one stage to `state`, as `docker build` would on top of the previous layer. */
async function applyInstructions(stage: Stage, instructions: Instruction[], state: StageState, ctx: ReplayContext): Promise<void> {
  const rules = readDockerignore();
  const { root, env, vars } = state;
  for (const { keyword, args, line } of instructions) {
    const where = `Dockerfile line ${line} (${stage.name}, ${ctx.label})`;
    switch (keyword) {
      case 'ARG': {
        const [name, value] = splitArg(args);
        const v = ctx.buildArgs.get(name) ?? value ?? dockerfileGlobal(name);
        if (v !== undefined) vars.set(name, v);
        break;
      }
      case 'ENV':
        for (const [name, value] of parseEnv(expand(args, vars))) {
          env[name] = value;
          vars.set(name, value);
        }
        break;
      case 'WORKDIR':
        state.workdir = posix.resolve(state.workdir, expand(args, vars));
        mkdirSync(join(root, state.workdir), { recursive: true });
        break;
      case 'COPY': {
        const words = expand(args, vars).split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const unknown = flags.filter((f) => !f.startsWith('--from='));
        if (unknown.length > 0) throw new Error(`${where}: COPY flags ${unknown.join(' ')} are not replayed by this test`);
        const destRaw = paths.pop()!;
        const dest = join(root, posix.resolve(state.workdir, destRaw));
        const destIsDir = destRaw.endsWith('/') || paths.length > 1;
        for (const src of paths) {
          if (/[*?[]/.test(src)) throw new Error(`${where}: COPY wildcards are not replayed by this test`);
          if (from !== undefined) {
            const fromRoot = ctx.stageRoots.get(from);
            if (!fromRoot) throw new Error(`${where}: COPY --from=${from}: no earlier stage of that name`);
            const source = join(fromRoot, src);
            if (!existsSync(source)) throw new Error(`${where}: ${src} does not exist in stage ${from}`);
            await copyInto(source, dest, destIsDir);
          } else {
            const rel = posix.normalize(src).replace(/\/+$/, '');
            if (!existsSync(join(REPO, rel))) throw new Error(`${where}: ${src} is not in the repository`);
            const files = contextFiles(rel, rules);
            if (files.length === 0) throw new Error(`${where}: ${src} is excluded by .dockerignore`);
            const isDir = lstatSync(join(REPO, rel)).isDirectory();
            for (const file of files) {
              if (isDir) await copyInto(join(REPO, file), join(dest, posix.relative(rel, file)), false);
              else await copyInto(join(REPO, file), dest, destIsDir);
            }
          }
        }
        break;
      }
      case 'RUN': {
        const command = args.replace(/^(--\S+\s+)+/, '');
        const stand = NOT_REPLAYED.find((s) => s.stage === stage.name && s.pattern.test(command));
        if (stand) {
          stand.instead(root, state.workdir);
          ctx.skipped.push(command);
          break;
        }
        const shellEnv: Record<string, string> = {
          ...(process.env as Record<string, string>),
          ...env,
          ...Object.fromEntries(vars),
          PATH: `${NODE_BIN}:${process.env.PATH ?? ''}`,
          npm_config_prefer_offline: 'true',
          npm_config_update_notifier: 'false',
        };
        try {
          await run('/bin/sh', ['-c', command], { cwd: join(root, state.workdir), env: shellEnv, maxBuffer: 16 * 1024 * 1024 });
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string; message: string };
          throw new Error(`${where}: RUN ${command}\nfailed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
        }
        break;
      }
      case 'USER':
        state.user = expand(args, vars);
        break;
      case 'EXPOSE':
        state.expose = expand(args, vars).split(/\s+/);
        break;
      case 'ENTRYPOINT':
        state.entrypoint = execForm(args, `${where}: ENTRYPOINT`);
        break;
      case 'CMD':
        state.cmd = execForm(args, `${where}: CMD`);
        break;
      default:
        throw new Error(`${where}: ${keyword} is not replayed by this test`);
    }
  }
}

function dockerfileGlobal(name: string): string | undefined {
  return dockerfile.globalArgs.get(name);
}

/**
 * Replays the Dockerfile for every service. Like Docker's layer cache, the instructions of a stage before
 * the first service-specific one (ARG of a build arg, or COPY --from) are replayed once and shared.
 */
async function replayAll(services: Service[], workspace: string): Promise<Map<Service, Runtime>> {
  const contexts = new Map<Service, ReplayContext>(
    services.map((service) => [
      service,
      {
        label: service,
        buildArgs: new Map([
          ['SERVICE', service],
          ['PORT', String(SERVICES[service])],
        ]),
        stageRoots: new Map(),
        skipped: [],
      },
    ]),
  );
  const finals = new Map<Service, StageState>();
  for (const stage of dockerfile.stages) {
    const split = stage.instructions.findIndex(
      (i) => (i.keyword === 'ARG' && ['SERVICE', 'PORT'].includes(splitArg(i.args)[0])) || (i.keyword === 'COPY' && i.args.includes('--from=')),
    );
    const shared = split < 0 ? [] : stage.instructions.slice(0, split);
    const own = split < 0 ? stage.instructions : stage.instructions.slice(split);

    const sharedState = newStageState(join(workspace, 'shared', stage.name));
    const sharedContext: ReplayContext = { label: 'shared', buildArgs: new Map(), stageRoots: new Map(), skipped: [] };
    await applyInstructions(stage, shared, sharedState, sharedContext);

    await Promise.all(
      services.map(async (service) => {
        const ctx = contexts.get(service)!;
        const state: StageState = {
          ...sharedState,
          root: join(workspace, service, stage.name),
          env: { ...sharedState.env },
          vars: new Map(sharedState.vars),
        };
        await copyInto(sharedState.root, state.root, true);
        ctx.skipped.push(...sharedContext.skipped);
        await applyInstructions(stage, own, state, ctx);
        ctx.stageRoots.set(stage.name, state.root);
        finals.set(service, state);
      }),
    );
  }
  return new Map(
    services.map((service) => {
      const { root, workdir, env, entrypoint, cmd, user, expose } = finals.get(service)!;
      return [service, { root, workdir, env, entrypoint, cmd, user, expose, skipped: contexts.get(service)!.skipped }];
    }),
  );
}

function newStageState(root: string): StageState {
  mkdirSync(root, { recursive: true });
  const vars = new Map<string, string>();
  for (const [name, value] of dockerfile.globalArgs) if (value !== undefined) vars.set(name, value);
  return { root, workdir: '/', env: {}, vars, entrypoint: [], cmd: [], user: 'root', expose: [] };
}

// ---------------------------------------------------------------------------------------- processes

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node <script>` in the image's working folder with the image's ENV plus `extraEnv`, nothing else. */
function startInImage(image: Runtime, args: string[], extraEnv: Record<string, string> = {}) {
  const [program, ...rest] = args;
  if (program !== 'node') throw new Error(`expected a node command, got ${args.join(' ')}`);
  const child = spawn(process.execPath, rest, { cwd: join(image.root, image.workdir), env: { ...image.env, ...extraEnv } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<Exit>((resolveExit) => {
    child.on('exit', (code, signal) => {
      // 'exit' can precede the last 'data' events of the pipes.
      setImmediate(() => resolveExit({ code, signal, stdout, stderr }));
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  void exited.finally(() => clearTimeout(timer));
  return { child, exited, output: () => stdout };
}

function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

async function waitForLogLine(output: () => string, msg: string, exited: Promise<Exit>): Promise<Record<string, unknown>> {
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    for (const line of output().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) return entry;
    }
    if (done) throw new Error(`exited before logging "${msg}":\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// -------------------------------------------------------------------------------------------- tests

const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const rootPackage = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  workspaces: string[];
  devDependencies: Record<string, string>;
};

describe('Dockerfile rules', () => {
  const finalStage = dockerfile.stages.at(-1)!;
  const baseImages = dockerfile.stages.map((stage) => {
    const vars = new Map([...dockerfile.globalArgs].filter((e): e is [string, string] => e[1] !== undefined));
    return expand(stage.base, vars);
  });

  it('builds every stage from the Node the project runs on, pinned to a full version', () => {
    const projectNode = rootPackage.devDependencies.node!;
    for (const image of baseImages) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(?:-slim)?$/.exec(image);
      expect({ image, pinned: match !== null }).toEqual({ image, pinned: true });
      expect({ image, major: match![1] }).toEqual({ image, major: projectNode.split('.')[0] });
    }
    expect(readFileSync(join(REPO, 'Dockerfile'), 'utf8')).not.toMatch(/:latest\b/);
  });

  it('runs as a numeric non-root user, in production mode, with exec-form ENTRYPOINT and CMD under tini', () => {
    const get = (keyword: string) => finalStage.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(get('USER')).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(get('USER')).toBe('1000:1000');
    expect(parseEnv(get('ENV')!)).toContainEqual(['NODE_ENV', 'production']);
    expect(execForm(get('ENTRYPOINT')!, 'ENTRYPOINT')).toEqual(['/usr/bin/tini', '--']);
    expect(execForm(get('CMD')!, 'CMD')).toEqual(['node', 'dist/main.js']);
  });

  it('copies every workspace manifest before each npm install, so npm ci checks them all against the lockfile', () => {
    for (const stage of dockerfile.stages.filter((s) => s.instructions.some((i) => i.keyword === 'RUN' && /npm ci|install-production-deps/.test(i.args)))) {
      const copied = stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
      for (const workspace of rootPackage.workspaces) {
        expect({ stage: stage.name, workspace, copied: copied.includes(`${workspace}/package.json ${workspace}/`) }).toEqual({
          stage: stage.name,
          workspace,
          copied: true,
        });
      }
    }
  });
});

describe('skaffold.yaml builds the images the Dockerfile makes', () => {
  interface Artifact {
    image: string;
    context?: string;
    docker?: { dockerfile?: string; buildArgs?: Record<string, string> };
  }
  const configs = parseAllDocuments(readFileSync(join(REPO, 'skaffold.yaml'), 'utf8')).map((doc) => doc.toJS()) as Array<{
    build?: { artifacts?: Artifact[] };
  }>;
  const artifacts = configs.flatMap((c) => c.build?.artifacts ?? []);

  it('one artifact per service image, from the root Dockerfile, with the SERVICE and PORT it expects', () => {
    expect(artifacts.map((a) => a.image).sort()).toEqual(Object.values(IMAGE_OF).sort());
    for (const [service, port] of Object.entries(SERVICES) as Array<[Service, number]>) {
      const artifact = artifacts.find((a) => a.image === IMAGE_OF[service])!;
      expect(artifact.context ?? '.').toBe('.');
      expect(artifact.docker?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(artifact.docker?.buildArgs).toEqual({ SERVICE: service, PORT: String(port) });
    }
  });
});

describe('images replayed without Docker', () => {
  let workspace: string;
  const images = new Map<Service, Runtime>();
  /** Exits of the entry points started with only the image ENV (plus one bad setting where named), by "service script". */
  const exits = new Map<string, Exit>();
  const entryPoints: Array<[Service, string, string]> = [
    ['product', 'dist/main.js', 'PRODUCT_DB_PASSWORD'],
    ['product', 'dist/migrate.js', 'PRODUCT_DB_PASSWORD'],
    ['order', 'dist/main.js', 'ORDER_DB_PASSWORD'],
    ['order', 'dist/consumer.js', 'ORDER_DB_PASSWORD'],
    ['order', 'dist/migrate.js', 'ORDER_DB_PASSWORD'],
  ];

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'eshop-image-'));
    // Node looks for node_modules in every parent folder: one above the replayed tree would hide a missing package.
    for (let dir = workspace; dir !== dirname(dir); dir = dirname(dir)) {
      if (existsSync(join(dir, 'node_modules'))) throw new Error(`${join(dir, 'node_modules')} exists; the replay cannot prove imports resolve`);
    }
    for (const [service, image] of await replayAll(Object.keys(SERVICES) as Service[], workspace)) images.set(service, image);
    const starts: Array<[Service, string, Record<string, string>]> = [
      ...entryPoints.map(([service, script]): [Service, string, Record<string, string>] => [service, script, {}]),
      ['order', 'dist/tools/replay-dlq.js', { KAFKA_BROKERS: ',' }],
      ['gateway', 'dist/main.js', { API_GATEWAY_PORT: 'eighty' }],
      // NOTES.txt of the platform chart mints kind tokens with `kubectl exec deploy/gateway -- node dist/tools/mint-token.js`.
      ['gateway', 'dist/tools/mint-token.js', { ...testAuthEnv(), AUTH_JWT_ISSUER: 'eshop-local' }],
    ];
    await Promise.all(
      starts.map(async ([service, script, extraEnv]) => {
        const args = script === 'dist/tools/mint-token.js' ? ['--sub', '42', '--role', 'customer'] : [];
        exits.set(`${service} ${script}`, await startInImage(images.get(service)!, ['node', script, ...args], extraEnv).exited);
      }),
    );
  }, 180_000);

  afterAll(() => {
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('replays every RUN step except the full npm ci of the build stage and the apt-get of tini', () => {
    for (const image of images.values()) {
      expect(image.skipped.map((command) => command.split(/\s+/).slice(0, 2).join(' '))).toEqual(['npm ci', 'apt-get update']);
    }
  });

  it.each(Object.keys(SERVICES) as Service[])('the %s image holds its own service and @eshop/common, nothing else of ours', (service) => {
    const image = images.get(service)!;
    expect(image.workdir).toBe(`/app/services/${service}`);
    expect(image.expose).toEqual([String(SERVICES[service])]);
    expect(readdirSync(join(image.root, 'app')).sort()).toEqual(['node_modules', 'services']);
    expect(readdirSync(join(image.root, 'app', 'services')).sort()).toEqual(['common', service].sort());
    expect(existsSync(join(image.root, 'app', 'services', service, 'dist', 'main.js'))).toBe(true);
    // npm links the workspaces it installed: @eshop/common and the service's own package.
    const ownName = (JSON.parse(readFileSync(join(REPO, 'services', service, 'package.json'), 'utf8')) as { name: string }).name;
    expect(readdirSync(join(image.root, 'app', 'node_modules', '@eshop')).sort()).toEqual(['common', ownName.replace('@eshop/', '')].sort());
  });

  it.each(Object.keys(SERVICES) as Service[])('the %s image holds no package the lockfile marks as development-only', (service) => {
    const image = images.get(service)!;
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; link?: boolean }>;
    };
    const installed = installedPackages(join(image.root, 'app'));
    expect(installed.length).toBeGreaterThan(50);
    const unknown = installed.filter((path) => !(path in lock.packages));
    const devOnly = installed.filter((path) => lock.packages[path]?.dev === true);
    expect({ unknown, devOnly }).toEqual({ unknown: [], devOnly: [] });
    // The tools by name, in case the lockfile's flags were ever wrong.
    for (const tool of ['jest', 'typescript', 'node', '@swc/core', '@types/jest', '@types/express', 'supertest', 'autocannon', 'cdk8s', 'cdk8s-cli', 'ajv']) {
      expect({ tool, present: existsSync(join(image.root, 'app', 'node_modules', tool)) }).toEqual({ tool, present: false });
    }
  });

  it.each(entryPoints)('%s: node %s with only the image ENV loads every import, then stops at the config check naming %s', (service, script, variable) => {
    const exit = exits.get(`${service} ${script}`)!;
    expect(exit.stderr).toContain(`${variable} is required but not set`);
    expect(exit.stderr).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND|Warning/);
    expect(exit.code).toBe(2);
  });

  it('order: node dist/tools/replay-dlq.js (the DLQ replay tool) loads and checks its config', () => {
    const exit = exits.get('order dist/tools/replay-dlq.js')!;
    expect(exit.stderr).toContain('KAFKA_BROKERS must list at least one entry');
    expect(exit.code).toBe(2);
  });

  it('gateway: the image CMD rejects a bad setting with exit 2, naming it', () => {
    const exit = exits.get('gateway dist/main.js')!;
    expect(exit.stderr).toContain('API_GATEWAY_PORT must be a TCP port number');
    expect(exit.code).toBe(2);
  });

  it('gateway: node dist/tools/mint-token.js mints a token from the pod environment (AUTH_JWT_*), printing only the token', () => {
    const exit = exits.get('gateway dist/tools/mint-token.js')!;
    expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
    expect(decodeJwt(exit.stdout.trim())).toMatchObject({ sub: '42', roles: ['customer'], iss: 'eshop-local', aud: testAuthEnv()['AUTH_JWT_AUDIENCE'] });
  });

  it('gateway: the image CMD serves /healthz and drains on SIGTERM, exiting 0', async () => {
    const image = images.get('gateway')!;
    const { child, exited, output } = startInImage(image, image.cmd, { ...testAuthEnv(), API_GATEWAY_PORT: '0', HTTP_HOST: '127.0.0.1' });
    const listening = await waitForLogLine(output, 'api gateway listening', exited);
    expect(await getStatus(listening.port as number, '/healthz')).toBe(200);
    child.kill('SIGTERM');
    const exit = await exited;
    expect(exit.stdout).toContain('stopped cleanly');
    expect(exit.stderr).toBe('');
    expect(exit.code).toBe(0);
  });
});

/** Lockfile keys (`node_modules/x`, `services/gateway/node_modules/y`, nested ones) of the installed packages. */
function installedPackages(appRoot: string): string[] {
  const found: string[] = [];
  const scan = (modulesDir: string) => {
    if (!existsSync(modulesDir)) return;
    for (const entry of readdirSync(modulesDir)) {
      if (entry.startsWith('.')) continue;
      const full = join(modulesDir, entry);
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(full)) visit(join(full, scoped));
      } else {
        visit(full);
      }
    }
  };
  const visit = (pkgDir: string) => {
    found.push(relative(appRoot, pkgDir).split('\\').join('/'));
    if (!lstatSync(pkgDir).isSymbolicLink()) scan(join(pkgDir, 'node_modules'));
  };
  scan(join(appRoot, 'node_modules'));
  for (const service of readdirSync(join(appRoot, 'services'))) scan(join(appRoot, 'services', service, 'node_modules'));
  return found;
}
