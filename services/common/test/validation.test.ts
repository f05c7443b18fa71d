import { z } from 'zod';
import { AppError, centsToMoney, decodeCursor, encodeCursor, moneyToCents, normalizeMoney, schemas, validate } from '@eshop/common';

function problemOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('validate', () => {
  const body = z.strictObject({
    name: z.string().min(1),
    items: z.array(z.strictObject({ quantity: z.number().int().positive() })).min(1),
  });

  it('names a nested field path in the problem', () => {
    const error = problemOf(() => validate(body, { name: 'x', items: [{ quantity: 1 }, { quantity: 0 }] }));
    expect(error.status).toBe(400);
    expect(error.code).toBe('validation_failed');
    expect(error.field).toBe('items[1].quantity');
  });

  it('reports an unknown field by name', () => {
    const error = problemOf(() => validate(body, { name: 'x', items: [{ quantity: 1 }], admin: true }));
    expect(error.errors).toEqual([{ field: 'admin', message: 'unknown field', code: 'unknown_field' }]);
  });

  it('names an unknown field with an empty name as "" (a problem always names its field)', () => {
    const error = problemOf(() => validate(body, { name: 'x', items: [{ quantity: 1 }], '': 1 }));
    expect(error.field).toBe('""');
    expect(error.errors).toEqual([{ field: '""', message: 'unknown field', code: 'unknown_field' }]);
  });

  it('says a missing field is required', () => {
    const error = problemOf(() => validate(body, { items: [{ quantity: 1 }] }));
    expect(error.errors?.[0]).toMatchObject({ field: 'name', code: 'required' });
  });
});

describe('money', () => {
  it.each([
    ['19.99', '19.99'],
    [19.9, '19.90'],
    ['007', '7.00'],
    [0, '0.00'],
  ])('accepts %p as %p', (input, expected) => {
    expect(schemas.money.parse(input)).toBe(expected);
  });

  it.each([['-1'], ['1.999'], ['abc'], [1e30], [''], ['1.'], [Number.NaN]])('rejects %p', (input) => {
    expect(schemas.money.safeParse(input).success).toBe(false);
  });

  it('adds decimal amounts exactly where binary floats would not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(centsToMoney(moneyToCents('0.10') + moneyToCents('0.20'))).toBe('0.30');
    expect(centsToMoney(moneyToCents('19.99') * 3n)).toBe('59.97');
    expect(normalizeMoney('5.5')).toBe('5.50');
  });
});

describe('numeric ids', () => {
  it.each([['1', 1], ['42', 42]])('accepts %p', (input, expected) => {
    expect(schemas.numericId.parse(input)).toBe(expected);
  });

  it.each([['0'], ['-1'], ['abc'], ['1.5'], ['99999999999999999999'], ['01']])('rejects %p', (input) => {
    expect(schemas.numericId.safeParse(input).success).toBe(false);
  });

  it.each([[[7]], [['7']], [[[7]]], [true], [null], [{}]])('rejects %j, which is not a number or a string, even when it prints as one', (input) => {
    const result = schemas.numericId.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be a positive integer id');
  });
});

describe('page cursors', () => {
  const afterId = ({ after }: Record<string, unknown>) =>
    typeof after === 'number' && Number.isSafeInteger(after) && after >= 0 ? after : undefined;

  it('round-trip a position and reject anything else with a 400 naming cursor', () => {
    expect(decodeCursor(encodeCursor({ after: 42 }), afterId)).toBe(42);
    for (const forged of ['x', 'bnVsbA', Buffer.from('{"after":-1}').toString('base64url'), Buffer.from('{"after":"1"}').toString('base64url')]) {
      expect(() => decodeCursor(forged, afterId)).toThrow(expect.objectContaining({ status: 400, field: 'cursor' }));
    }
  });
});
