/**
 * Mints a client access token for a gateway that runs with a local issuer (AUTH_JWT_SECRET: `platform.sh up`,
 * kind). Prints the token, and nothing else, on stdout:
 *
 *   node dist/tools/mint-token.js --sub alice --role customer [--ttl 8h] [--secret-file FILE|-]
 *
 * The key comes from --secret-file (`-` = stdin, so it never shows in a process list) or AUTH_JWT_SECRET;
 * issuer and audience from AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE with the gateway's defaults. Inside a gateway
 * pod those are already set: `kubectl exec deploy/gateway -- node dist/tools/mint-token.js --sub 42 --role customer`.
 * `./local/platform.sh token …` runs it with the local stack's key.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, mintAccessToken, ROLES, secretVariable, USER_ID_PATTERN, type Role } from '@eshop/common';
import { gatewayConfigDefinition } from '../config';

export const USAGE = `usage: mint-token --sub USER_ID --role ROLE[,ROLE] [--role ROLE] [--ttl DURATION] [--secret-file FILE|-]
  --sub          the token subject: the shop's user id (orders of a customer carry it as user_id)
  --role         ${ROLES.join(' or ')}; repeat or separate with commas for several
  --ttl          lifetime: 3600, 90s, 30m, 8h or 2d (at most 30d); default 1h
  --secret-file  read the HS256 key from FILE (- = stdin) instead of AUTH_JWT_SECRET
env: AUTH_JWT_SECRET, AUTH_JWT_ISSUER (default ${gatewayConfigDefinition.authIssuer.default}), AUTH_JWT_AUDIENCE (default ${gatewayConfigDefinition.authAudience.default})`;

const MAX_TTL_SECONDS = 30 * 24 * 3600;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export interface MintRequest {
  sub: string;
  roles: Role[];
  ttlSeconds: number;
  secretFile?: string;
}

/** A wrong command line; the message says what to change. */
export class UsageError extends Error {}

/** `90s`, `30m`, `8h`, `2d` or plain seconds, within 1 s … 30 d. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!(seconds >= 1 && seconds <= MAX_TTL_SECONDS)) {
    throw new UsageError(`--ttl ${JSON.stringify(text)}: give seconds or a number with s, m, h or d, between 1s and 30d (e.g. 8h)`);
  }
  return seconds;
}

export function parseArgs(argv: readonly string[]): MintRequest {
  let sub: string | undefined;
  let ttlSeconds = 3600;
  let secretFile: string | undefined;
  const roles: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--sub':
        sub = value();
        break;
      case '--role':
      case '--roles':
        roles.push(...value().split(',').map((r) => r.trim()).filter(Boolean));
        break;
      case '--ttl':
        ttlSeconds = parseTtl(value());
        break;
      case '--secret-file':
        secretFile = value();
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (sub === undefined) throw new UsageError('--sub is required (the user id the token is for, e.g. --sub 42)');
  if (!USER_ID_PATTERN.test(sub)) throw new UsageError(`--sub ${JSON.stringify(sub)}: a user id is 1-64 characters of A-Z, a-z, 0-9, _ and -`);
  if (roles.length === 0) throw new UsageError(`--role is required: ${ROLES.join(' or ')}`);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) throw new UsageError(`--role ${unknown.join(',')}: the platform knows ${ROLES.join(' and ')}`);
  return { sub, roles: [...new Set(roles)] as Role[], ttlSeconds, ...(secretFile ? { secretFile } : {}) };
}

/** The issuer settings the gateway uses, from the environment (and the key from --secret-file when given). */
export function issuerSettings(request: Pick<MintRequest, 'secretFile'>, env: NodeJS.ProcessEnv, readFile: (file: string) => string) {
  const source = { ...env };
  if (request.secretFile) source['AUTH_JWT_SECRET'] = readFile(request.secretFile === '-' ? '/dev/stdin' : request.secretFile).replace(/\r?\n$/, '');
  return loadConfig(
    {
      issuer: gatewayConfigDefinition.authIssuer,
      audience: gatewayConfigDefinition.authAudience,
      secret: secretVariable('AUTH_JWT_SECRET', 'HS256 key of the local issuer (the gateway\'s AUTH_JWT_SECRET)'),
    },
    source,
  );
}

export async function mintFromCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv, readFile = (file: string) => readFileSync(file, 'utf8')): Promise<string> {
  const request = parseArgs(argv);
  const { issuer, audience, secret } = issuerSettings(request, env, readFile);
  return mintAccessToken({ secret, issuer, audience, sub: request.sub, roles: request.roles, ttlSeconds: request.ttlSeconds });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    mintFromCommandLine(argv, process.env).then(
      (token) => process.stdout.write(`${token}\n`),
      (err: unknown) => {
        if (err instanceof UsageError) process.stderr.write(`mint-token: ${err.message}\n${USAGE}\n`);
        else if (err instanceof ConfigError) process.stderr.write(`mint-token: ${err.message}\n`);
        else throw err;
        process.exitCode = 2;
      },
    );
  }
}
