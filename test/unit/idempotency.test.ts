import { describe, expect, it } from 'vitest';
import { judgeClaim } from '../../functions/adapters/dynamo-claims';
import { contentHash } from '../../functions/core/idempotency';
import { parseQueueMessage } from '../../functions/core/message';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function message(body: Record<string, unknown>) {
  const parsed = parseQueueMessage(JSON.stringify(body));
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.message;
}

const base = { v: 1, tenantId: 'acme', to: 'ann@example.test', subject: 'Hi', text: 'Hello' };

describe('contentHash', () => {
  it('is the same for the same message with its fields in another order', () => {
    // Prepare
    const reordered = Object.fromEntries(Object.entries(base).reverse());

    // Act / Assess
    expect(contentHash(message(reordered))).toBe(contentHash(message(base)));
  });

  it.each([
    ['subject', { subject: 'Hi again' }],
    ['a recipient', { to: ['ann@example.test', 'bob@example.test'] }],
    ['a header', { headers: { 'X-Form': 'contact' } }],
  ])('differs when %s differs', (_what, change) => {
    expect(contentHash(message({ ...base, ...change }))).not.toBe(contentHash(message(base)));
  });
});

describe('judgeClaim (a claim read after a lost condition)', () => {
  const live = {
    leaseUntil: T0 + 1_000,
    expiresAt: T0 / 1000 + 60,
    deliverySk: 'DELIVERY#x#k',
    contentHash: 'h1',
  };

  it.each([
    ['gone', null, 'h1', 'retry'],
    ['expired', { ...live, expiresAt: T0 / 1000 - 1 }, 'h2', 'restart'],
    ['leased, same content', live, 'h1', { outcome: 'leased', leaseUntil: T0 + 1_000 }],
    ['leased, other content', live, 'h2', { outcome: 'conflict' }],
    ['done, same content', { ...live, done: true }, 'h1', { outcome: 'done', deliveryId: 'x#k' }],
    ['done, other content', { ...live, done: true }, 'h2', { outcome: 'conflict' }],
    ['released meanwhile', { ...live, leaseUntil: 0 }, 'h1', 'retry'],
    [
      'written before hashes',
      { ...live, contentHash: undefined },
      'h2',
      { outcome: 'leased', leaseUntil: T0 + 1_000 },
    ],
  ] as const)('%s', (_name, item, hash, expected) => {
    expect(judgeClaim(item, T0, hash)).toEqual(expected);
  });
});
