import { AppError } from '@eshop/common';
import type { VersionPrecondition } from '../domain/product';

const STRONG_VERSION_TAG = /^"(\d{1,10})"$/;

function invalid(detail: string): AppError {
  return new AppError({
    status: 400,
    code: 'validation_failed',
    detail,
    field: 'If-Match',
    errors: [{ field: 'If-Match', message: detail, code: 'invalid_precondition' }],
    extensions: { location: 'header' },
  });
}

/**
 * Reads If-Match (`*` or a list of strong tags such as `"3"`). Weak tags (`W/"3"`) never match under
 * If-Match's strong comparison, so a list of only weak tags fails as stale rather than as malformed.
 * Missing header: undefined, or 428 when the service requires preconditions.
 */
export function versionPrecondition(header: string | undefined, required: boolean): VersionPrecondition | undefined {
  if (header === undefined || header.trim() === '') {
    if (!required) return undefined;
    throw new AppError({
      status: 428,
      code: 'precondition_required',
      detail: 'this service requires If-Match with the product ETag for writes; GET the product first',
    });
  }
  if (header.trim() === '*') return { kind: 'any' };
  const versions: number[] = [];
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    const strong = STRONG_VERSION_TAG.exec(tag);
    if (strong) versions.push(Number(strong[1]));
    else if (!/^W\/"[^"]*"$/.test(tag) && !/^"[^"]*"$/.test(tag)) throw invalid(`If-Match must be * or a list of entity tags such as "3", got ${JSON.stringify(header)}`);
  }
  // Tags in a valid format that can never be ours (weak, non-numeric) leave an impossible version.
  return { kind: 'versions', versions: versions.length > 0 ? versions : [0] };
}
