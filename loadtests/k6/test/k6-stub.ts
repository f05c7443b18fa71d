/**
 * Stand-in for the k6 modules (k6, k6/http, k6/metrics, k6/crypto, k6/encoding) when jest loads a script to read its `options`
 * (jest.config.js maps every `k6/…` import here). Nothing here sends requests: calling a function that
 * only k6 can run throws, so a test cannot pass by accident while "running" a script.
 */
import { createHmac } from 'node:crypto';

const onlyInK6 = (name: string) => () => {
  throw new Error(`${name}() runs only inside k6; tests read options, they do not run scenarios`);
};

/** What http.expectedStatuses() returned, so tests can see which statuses a scenario accepts. */
export interface ExpectedStatusesStub {
  readonly expectedStatuses: readonly (number | { min: number; max: number })[];
}

const http = {
  expectedStatuses: (...statuses: (number | { min: number; max: number })[]): ExpectedStatusesStub => ({ expectedStatuses: statuses }),
  setResponseCallback: onlyInK6('http.setResponseCallback'),
  get: onlyInK6('http.get'),
  post: onlyInK6('http.post'),
  batch: onlyInK6('http.batch'),
  request: onlyInK6('http.request'),
};
export default http;

export const check = onlyInK6('check');
export const fail = onlyInK6('fail');
export const sleep = onlyInK6('sleep');
export const group = onlyInK6('group');

class Metric {
  constructor(readonly name: string) {}
  add(): void {
    throw new Error(`metric ${this.name}: add() runs only inside k6`);
  }
}
export class Counter extends Metric {}
export class Trend extends Metric {}
export class Rate extends Metric {}
export class Gauge extends Metric {}

// k6/crypto and k6/encoding: pure functions, so the stub computes them (node:crypto, Buffer) as k6 does, and
// tests can check the tokens the scripts mint against the gateway's verifier settings.
const base64Variants = { std: 'base64', rawstd: 'base64', url: 'base64url', rawurl: 'base64url' } as const;
type Base64Variant = keyof typeof base64Variants;
const unpadded = (variant: Base64Variant, text: string): string => (variant.startsWith('raw') ? text.replace(/=+$/, '') : text);

export function hmac(algorithm: string, secret: string, data: string, outputEncoding: 'hex' | 'base64' | 'base64url' | 'base64rawurl'): string {
  const digest = createHmac(algorithm, secret).update(data);
  if (outputEncoding === 'hex') return digest.digest('hex');
  const b64 = digest.digest('base64');
  if (outputEncoding === 'base64') return b64;
  const url = b64.replace(/\+/g, '-').replace(/\//g, '_');
  return outputEncoding === 'base64rawurl' ? url.replace(/=+$/, '') : url;
}

export function b64encode(input: string, variant: Base64Variant = 'std'): string {
  return unpadded(variant, Buffer.from(input, 'utf8').toString(base64Variants[variant]));
}

export function b64decode(input: string, variant: Base64Variant = 'std', format?: 's'): string | ArrayBuffer {
  const bytes = Buffer.from(input, base64Variants[variant]);
  return format === 's' ? bytes.toString('utf8') : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}
