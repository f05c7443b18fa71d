import { decodeProtectedHeader, jwtVerify } from 'jose';
import { mintFromCommandLine, parseArgs, parseTtl, UsageError } from '../src/tools/mint-token';

const SECRET = 'mint-token-test-secret-0123456789abcdefghij';
const key = new TextEncoder().encode(SECRET);

describe('mint-token (./local/platform.sh token, kubectl exec … node dist/tools/mint-token.js)', () => {
  it('mints an HS256 token the gateway settings accept: issuer, audience, subject, roles, lifetime', async () => {
    const token = await mintFromCommandLine(['--sub', 'alice', '--role', 'customer', '--ttl', '8h'], { AUTH_JWT_SECRET: SECRET });
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const { payload } = await jwtVerify(token, key, { issuer: 'eshop-local', audience: 'eshop-api', algorithms: ['HS256'] });
    expect(payload).toMatchObject({ sub: 'alice', roles: ['customer'] });
    expect(payload.exp! - payload.iat!).toBe(8 * 3600);
  });

  it('takes issuer and audience from AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE, and the key from --secret-file instead of the environment', async () => {
    const files: string[] = [];
    const token = await mintFromCommandLine(
      ['--sub', 'admin', '--role=admin,customer', '--secret-file', '-'],
      { AUTH_JWT_ISSUER: 'eshop-kind', AUTH_JWT_AUDIENCE: 'shop', AUTH_JWT_SECRET: 'ignored-because-a-file-was-given-000000000' },
      (file) => (files.push(file), `${SECRET}\n`),
    );
    expect(files).toEqual(['/dev/stdin']);
    const { payload } = await jwtVerify(token, key, { issuer: 'eshop-kind', audience: 'shop' });
    expect(payload).toMatchObject({ sub: 'admin', roles: ['admin', 'customer'] });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('refuses a missing or short key, naming the variable but never echoing the key', async () => {
    await expect(mintFromCommandLine(['--sub', 'a', '--role', 'admin'], {})).rejects.toThrow(/AUTH_JWT_SECRET is required but not set/);
    const short = mintFromCommandLine(['--sub', 'a', '--role', 'admin'], { AUTH_JWT_SECRET: 'too-short' });
    await expect(short).rejects.toThrow(/AUTH_JWT_SECRET must be at least 32 characters/);
    await expect(short).rejects.not.toThrow(/too-short/);
  });

  it.each([
    [[], /--sub is required/],
    [['--sub', 'alice'], /--role is required: admin or customer/],
    [['--sub', 'alice', '--role', 'root'], /--role root: the platform knows admin and customer/],
    [['--sub', 'al ice', '--role', 'customer'], /--sub "al ice": a user id is 1-64 characters/],
    [['--sub', 'alice', '--role', 'customer', '--ttl', '1y'], /--ttl "1y"/],
    [['--sub', 'alice', '--role', 'customer', '--ttl'], /--ttl needs a value/],
    [['--sub', 'alice', '--role', 'customer', '--admin'], /unknown argument "--admin"/],
  ])('refuses %j with a usage error saying what to change', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('reads lifetimes in seconds, minutes, hours and days, up to 30 days', () => {
    expect([parseTtl('3600'), parseTtl('90s'), parseTtl('30m'), parseTtl('8h'), parseTtl('2d'), parseTtl('30d')]).toEqual([3600, 90, 1800, 28800, 172800, 2592000]);
    expect(() => parseTtl('31d')).toThrow(UsageError);
    expect(() => parseTtl('0')).toThrow(UsageError);
  });
});
