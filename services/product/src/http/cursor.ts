import { AppError } from '@eshop/common';

/**
 * Opaque page cursors: base64url of `{"after": <last id>}`. Clients must not build them; the format
 * may change (for example to other sort orders) without breaking anyone who only follows next_cursor.
 */
export function encodeCursor(afterId: number): string {
  return Buffer.from(JSON.stringify({ after: afterId })).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) {
    throw new AppError({
      status: 400,
      code: 'validation_failed',
      detail: 'invalid query: cursor is not a cursor returned by this API',
      field: 'cursor',
      errors: [{ field: 'cursor', message: 'is not a cursor returned by this API', code: 'invalid_cursor' }],
      extensions: { location: 'query' },
    });
  }
  return after;
}
