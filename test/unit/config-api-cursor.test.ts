import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../functions/adapters/dynamo-cursor';
import { parseLimit } from '../../functions/config-api/cursor';
import { BadRequestError } from '../../functions/config-api/errors';
import { InvalidCursorError } from '../../functions/core/errors';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('delivery cursor (DynamoDB adapter)', () => {
  it('round-trips a key of the tenant it was made for', () => {
    // Prepare
    const key = { pk: 'TENANT#acme', sk: 'DELIVERY#2025-01-01T00:00:00.000Z#m-1' };

    // Act
    const cursor = encodeCursor(key);

    // Assess
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('acme', cursor)).toEqual(key);
  });

  it.each([
    ['another tenant’s key', b64({ pk: 'TENANT#globex', sk: 'DELIVERY#x' })],
    ['a key outside the delivery items', b64({ pk: 'TENANT#acme', sk: 'SENDER' })],
    ['a tenant-prefix look-alike', b64({ pk: 'TENANT#acme2', sk: 'DELIVERY#x' })],
    ['an extra attribute', b64({ pk: 'TENANT#acme', sk: 'DELIVERY#x', gsi: 1 })],
    ['a missing sk', b64({ pk: 'TENANT#acme' })],
    ['a non-string sk', b64({ pk: 'TENANT#acme', sk: 5 })],
    ['an array', b64(['TENANT#acme', 'DELIVERY#x'])],
    ['null', b64(null)],
    ['not JSON', Buffer.from('{pk:').toString('base64url')],
    ['not base64url', 'abc/def+=='],
    ['empty', ''],
    ['too long', 'A'.repeat(2000)],
  ])('refuses %s (the API answers 400)', (_name, cursor) => {
    // Act / Assess
    expect(() => decodeCursor('acme', cursor)).toThrow(InvalidCursorError);
  });

  it.each([
    [undefined, 20],
    ['1', 1],
    ['100', 100],
    ['007', 7],
  ])('reads limit %s as %s', (raw, expected) => {
    expect(parseLimit(raw)).toBe(expected);
  });

  it.each(['0', '101', '-1', '1.5', 'abc', '', ' 5', '1e2', '1000'])('refuses limit %j with 400', (raw) => {
    expect(() => parseLimit(raw)).toThrow(BadRequestError);
  });
});
