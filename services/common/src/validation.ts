import { z } from 'zod';
import { AppError, type FieldProblem } from './errors';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    // An empty key (`?=1`, `{"": 1}`) is named `""`, so the problem still names a field.
    const name = part === '' ? '""' : String(part);
    if (typeof part === 'number') out += `[${part}]`;
    else out += out.length === 0 ? name : `.${name}`;
  }
  return out;
}

/** Flattens zod issues into one problem per offending field, unknown keys named individually. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ field: formatPath([...issue.path, key]), message: 'unknown field', code: 'unknown_field' });
      }
    } else {
      const field = formatPath(issue.path);
      const missing = issue.code === 'invalid_type' && issue.input === undefined;
      problems.push({
        field: field || '(body)',
        message: missing ? 'is required' : issue.message,
        code: missing ? 'required' : issue.code,
      });
    }
  }
  return problems;
}

export type InputLocation = 'body' | 'query' | 'path' | 'header';

/** Parses untrusted input or throws a 400 `validation_failed` problem naming each field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, location: InputLocation = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = fieldProblems(result.error);
  const first = errors[0];
  const detail =
    input === undefined && location === 'body'
      ? 'request body is required (Content-Type: application/json)'
      : `invalid ${location}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`;
  throw new AppError({
    status: 400,
    code: 'validation_failed',
    detail,
    field: first?.field,
    errors,
    extensions: { location },
  });
}

/** Reusable schemas for values every service accepts. */
export const schemas = {
  /**
   * A positive integer id in a path or body, as a number or a string of digits; out-of-range and non-numeric
   * ids are rejected. Only strings and numbers are read as text: `String([7])` is "7" too.
   */
  numericId: z
    .union([z.string(), z.number()], { error: 'must be a positive integer id' })
    .transform(String)
    .pipe(z.string().regex(/^[1-9]\d{0,15}$/, 'must be a positive integer id'))
    .transform(Number)
    .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)),
  /** Money as a decimal string with at most 2 places; accepts a JSON number only if it is exact. */
  money: z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const s = typeof v === 'number' ? String(v) : v.trim();
      if (!/^\d{1,10}(\.\d{1,2})?$/.test(s)) {
        ctx.addIssue({ code: 'custom', message: 'must be a non-negative decimal with at most 2 decimal places' });
        return z.NEVER;
      }
      return normalizeMoney(s);
    }),
};

/** Canonical money string with exactly two decimals (`"5"` → `"5.00"`), no float arithmetic. */
export function normalizeMoney(value: string): string {
  const [intPart = '0', frac = ''] = value.split('.');
  const int = intPart.replace(/^0+(?=\d)/, '');
  return `${int}.${(frac + '00').slice(0, 2)}`;
}

/** Money in integer cents, for exact arithmetic on decimal strings. */
export function moneyToCents(value: string): bigint {
  const normalized = normalizeMoney(value);
  const [int, frac] = normalized.split('.') as [string, string];
  return BigInt(int) * 100n + BigInt(frac);
}

export function centsToMoney(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const int = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${int}.${frac}`;
}

/**
 * Opaque page cursors: base64url JSON of the position after the last item of a page. Clients only
 * follow `next_cursor`; the format may change (e.g. other sort orders) without breaking them.
 */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Reads a cursor made by `encodeCursor`, or throws a 400 naming `cursor` when it is not one. */
export function decodeCursor<T>(cursor: string, read: (position: Record<string, unknown>) => T | undefined): T {
  let value: T | undefined;
  try {
    const position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    value = typeof position === 'object' && position !== null ? read(position as Record<string, unknown>) : undefined;
  } catch {
    value = undefined;
  }
  if (value === undefined) {
    throw new AppError({
      status: 400,
      code: 'validation_failed',
      detail: 'invalid query: cursor is not a cursor returned by this API',
      field: 'cursor',
      errors: [{ field: 'cursor', message: 'is not a cursor returned by this API', code: 'invalid_cursor' }],
      extensions: { location: 'query' },
    });
  }
  return value;
}
