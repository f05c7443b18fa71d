import { likeContains } from '../src/data/product-repository';
import { decideReplay, inLockOrder, sameLines, type Reservation } from '../src/domain/reservation';
import { versionPrecondition } from '../src/http/preconditions';

function aStoredReservation(overrides: Partial<Reservation> = {}): Reservation {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    orderId: 'o-1',
    status: 'reserved',
    items: [
      { productId: 1, name: 'A', quantity: 2, unitPrice: '1.00' },
      { productId: 5, name: 'B', quantity: 1, unitPrice: '2.50' },
    ],
    createdAt: at,
    updatedAt: at,
    releasedAt: null,
    ...overrides,
  };
}

describe('reservation rules', () => {
  it('locks lines in product id order and remembers where each came from in the request', () => {
    expect(inLockOrder([{ productId: 9, quantity: 1 }, { productId: 2, quantity: 3 }, { productId: 5, quantity: 2 }])).toEqual([
      { productId: 2, quantity: 3, index: 1 },
      { productId: 5, quantity: 2, index: 2 },
      { productId: 9, quantity: 1, index: 0 },
    ]);
  });

  it('treats the same lines in another order as the same request', () => {
    expect(sameLines([{ productId: 1, quantity: 2 }, { productId: 5, quantity: 1 }], [{ productId: 5, quantity: 1 }, { productId: 1, quantity: 2 }])).toBe(true);
  });

  it.each([
    ['another quantity', [{ productId: 1, quantity: 3 }, { productId: 5, quantity: 1 }]],
    ['a missing line', [{ productId: 1, quantity: 2 }]],
    ['an extra line', [{ productId: 1, quantity: 2 }, { productId: 5, quantity: 1 }, { productId: 7, quantity: 1 }]],
    ['another product', [{ productId: 1, quantity: 2 }, { productId: 6, quantity: 1 }]],
  ])('treats %s as a different request', (_what, requested) => {
    expect(sameLines(aStoredReservation().items, requested)).toBe(false);
  });

  it('replays an identical retry, refuses different items, and never revives a released order', () => {
    const same = [{ productId: 5, quantity: 1 }, { productId: 1, quantity: 2 }];

    expect(decideReplay(aStoredReservation(), same)).toBe('replay');
    expect(decideReplay(aStoredReservation(), [{ productId: 1, quantity: 1 }])).toBe('conflict');
    expect(decideReplay(aStoredReservation({ status: 'released' }), same)).toBe('released');
    expect(decideReplay(aStoredReservation({ status: 'released', items: [] }), same)).toBe('released');
  });
});

describe('If-Match preconditions', () => {
  it('is optional unless the service requires it', () => {
    expect(versionPrecondition(undefined, false)).toBeUndefined();
    expect(() => versionPrecondition(undefined, true)).toThrow(expect.objectContaining({ status: 428, code: 'precondition_required' }));
  });

  it('reads *, one strong tag, or a list of them', () => {
    expect(versionPrecondition('*', false)).toEqual({ kind: 'any' });
    expect(versionPrecondition('"3"', false)).toEqual({ kind: 'versions', versions: [3] });
    expect(versionPrecondition('"3", "4"', false)).toEqual({ kind: 'versions', versions: [3, 4] });
  });

  it('lets weak or foreign tags match nothing, and rejects garbage with a 400 naming If-Match', () => {
    expect(versionPrecondition('W/"3"', false)).toEqual({ kind: 'versions', versions: [0] });
    expect(versionPrecondition('"abc"', false)).toEqual({ kind: 'versions', versions: [0] });
    expect(() => versionPrecondition('3', false)).toThrow(expect.objectContaining({ status: 400, field: 'If-Match' }));
  });
});

describe('name search', () => {
  it('escapes LIKE wildcards and the escape character itself', () => {
    expect(likeContains('50% off_now!')).toBe('%50!% off!_now!!%');
  });
});
