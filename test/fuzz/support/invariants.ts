/** What every answer to a hostile request must satisfy, checked against the OpenAPI document. */
import type { WireResponse } from './http';
import { DocumentSchemas, documentedResponse, parameterSchemas, requestBodySchema, type Document } from './openapi';
import type { Write } from './platform';
import type { FuzzRequest } from './requests';

/** Longest a request may go unanswered before it counts as a hang. */
export const DEADLINE_MS = 5000;

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface Violation {
  rule: string;
  detail: string;
  request: FuzzRequest;
  response: WireResponse;
}

export class Invariants {
  private readonly schemas: DocumentSchemas;

  constructor(private readonly document: Document) {
    this.schemas = new DocumentSchemas(document);
  }

  /** Every rule the exchange breaks (empty when it keeps them all). */
  check(request: FuzzRequest, response: WireResponse, writes: Write[]): Violation[] {
    const out: Violation[] = [];
    const fail = (rule: string, detail: string) => out.push({ rule, detail, request, response });
    if (response.status === -1) return out; // the client library would not send it
    if (response.failure === 'timeout') {
      fail('no hang', `no answer within ${DEADLINE_MS} ms`);
      return out;
    }
    if (response.status === 0) {
      fail('answered', `connection failed: ${response.failure}`);
      return out;
    }
    const { status } = response;
    if (status >= 500) fail('no 5xx', `status ${status}`);
    if (request.mustReject && status < 400) fail('rejected', `status ${status} for a request the document forbids`);
    if (request.expectStatus && !request.expectStatus.includes(status)) fail('status', `status ${status}, expected ${request.expectStatus.join(' or ')}`);
    const problemBody = status >= 400 ? parseOrUndefined(Buffer.from(response.text)) : undefined;
    if (status >= 400 && writes.some((w) => !this.allowedWrite(request, status, w, problemBody))) {
      fail('no state change', `status ${status} but committed ${writes.map((w) => `${w.op} ${w.db}.${w.table}`).join(', ')}`);
    }

    const mediaType = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
    const requestId = String(response.headers['x-request-id'] ?? '');
    const sentId = request.headers['x-request-id'];
    if (sentId !== undefined && REQUEST_ID.test(sentId) ? requestId !== sentId : !REQUEST_ID.test(requestId)) {
      fail('request id', `X-Request-Id ${JSON.stringify(requestId)} for a request that sent ${JSON.stringify(sentId)}`);
    }
    let body: unknown;
    if (response.text !== '') {
      try {
        body = JSON.parse(response.text);
      } catch {
        body = undefined;
      }
    }

    if (status >= 400 && request.method !== 'HEAD') {
      if (mediaType !== 'application/problem+json') fail('problem+json', `${status} with Content-Type ${JSON.stringify(mediaType)}`);
      else this.checkProblem(request, status, body, fail);
    }

    const op = request.operation;
    if (op && request.method === op.method.toUpperCase()) {
      const documented = documentedResponse(this.document, op, status);
      const explicit = String(status) in (op.operation.responses ?? {});
      if (!documented || (status < 500 && !explicit)) fail('documented status', `${status} is not among the documented responses of ${op.operationId}`);
      else {
        if (documented.mediaType && mediaType !== documented.mediaType) fail('documented media type', `${mediaType} instead of ${documented.mediaType}`);
        if (documented.schema) {
          const validate = this.schemas.compile(documented.schema);
          if (!validate(body)) fail('documented body', `${status} body breaks the documented schema: ${this.schemas.errors(validate)}`);
        }
        const missing = documented.requiredHeaders.filter((name) => response.headers[name] === undefined);
        if (missing.length > 0) fail('documented headers', `${status} without ${missing.join(', ')}`);
      }
    }
    return out;
  }

  /**
   * The two refusals that are outcomes, not rejected requests, and the writes they may leave:
   * - a refused sync order is recorded under its Idempotency-Key (a retry gets the same refusal);
   * - confirming a pending order runs its reservation, and a refused one leaves the order rejected
   *   (with its event), as the consumers would have; the problem says so (`order_status: rejected`).
   */
  private allowedWrite(request: FuzzRequest, status: number, write: Write, problem: unknown): boolean {
    if (status !== 409 && status !== 422) return false;
    const operationId = request.operation?.operationId;
    if (operationId === 'placeOrder') {
      return request.idempotencyKey !== undefined && write.db === 'order' && write.table === 'idempotency_keys';
    }
    if (operationId === 'changeOrderStatus') {
      return (
        (request.json as { status?: unknown } | undefined)?.status === 'confirmed' &&
        (problem as { order_status?: unknown } | undefined)?.order_status === 'rejected' &&
        write.db === 'order' &&
        ((write.table === 'orders' && write.op === 'update') || (write.table === 'outbox_events' && write.op === 'insert'))
      );
    }
    return false;
  }

  /** A problem names what was wrong: validation errors name each field, and the field is one of the request's. */
  private checkProblem(request: FuzzRequest, status: number, body: unknown, fail: (rule: string, detail: string) => void): void {
    const problem = body as { status?: unknown; code?: unknown; field?: unknown; errors?: Array<{ field?: unknown }>; location?: unknown } | undefined;
    if (!problem || typeof problem !== 'object') {
      fail('problem+json', 'body is not a JSON object');
      return;
    }
    if (problem.status !== status) fail('problem+json', `body status ${String(problem.status)} on a ${status} response`);
    if (typeof problem.code !== 'string' || problem.code === '') fail('problem+json', 'no code');
    if (problem.code !== 'validation_failed') return;
    if (typeof problem.field !== 'string' || problem.field === '' || !Array.isArray(problem.errors) || problem.errors.length === 0) {
      fail('names the field', `validation_failed without field and errors: ${JSON.stringify(body)}`);
      return;
    }
    // Which fields a request has is known for documented operations only (not for a POST to a GET-only path).
    if (!request.operation) return;
    const known = this.namesIn(request, String(problem.location));
    for (const error of problem.errors) {
      const field = String(error.field ?? '');
      // `items[0].quantity` names items; an unknown key is named whole (it may contain . or [).
      const head = field.split(/[.[]/)[0]!;
      if (field === '' || !(head === '(body)' || known.has(head.toLowerCase()) || known.has(field.toLowerCase()) || known.has(unquote(field)))) {
        fail('names the field', `field ${JSON.stringify(field)} (location ${String(problem.location)}) is not one of the request's ${[...known].join(', ')}`);
      }
    }
  }

  /** Field names a validation error may name for this request and location: documented or sent. */
  private namesIn(request: FuzzRequest, location: string): Set<string> {
    const names = new Set<string>();
    const op = request.operation;
    const add = (keys: Iterable<string>) => {
      for (const key of keys) names.add(key.toLowerCase());
    };
    if (location === 'body') {
      const schema = op ? requestBodySchema(op) : undefined;
      add(Object.keys((schema?.properties ?? {}) as object));
      const sent = request.json ?? parseOrUndefined(request.body);
      if (sent && typeof sent === 'object' && !Array.isArray(sent)) add(Object.keys(sent));
    } else if (location === 'query') {
      add(Object.keys((op ? parameterSchemas(this.document, op).query?.properties : undefined) ?? {}));
      add(new URLSearchParams(request.target.split('?')[1] ?? '').keys());
    } else if (location === 'path') {
      add(Object.keys((op ? parameterSchemas(this.document, op).path?.properties : undefined) ?? {}));
    } else if (location === 'header') {
      add(Object.keys(request.headers));
      add(Object.keys((op ? parameterSchemas(this.document, op).header?.properties : undefined) ?? {}));
    }
    return names;
  }
}

function parseOrUndefined(body: Buffer | undefined): unknown {
  try {
    return body === undefined ? undefined : JSON.parse(body.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

/** `""` (how an empty key is named) → the empty key. */
function unquote(field: string): string {
  return field === '""' ? '' : field;
}
