import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../functions/adapters/dynamo-cursor';
import { deliveryIdOf, deliverySkFor, deliverySkOf } from '../../functions/adapters/dynamo-items';
import { InvalidCursorError } from '../../functions/core/errors';
import type { ClaimMessageInput, DeliveryRecord } from '../../functions/core/ports';
import { useDynamoStore } from '../support/dynamo';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const DAY_MS = 24 * 60 * 60 * 1000;

const dynamo = useDynamoStore('m', T0);
const { setup } = dynamo;

function delivery(
  messageId: string,
  firstAttemptMs: number,
  over: Partial<DeliveryRecord> = {},
): DeliveryRecord {
  const iso = new Date(firstAttemptMs).toISOString();
  return {
    id: deliveryIdOf(deliverySkFor(iso, messageId)),
    messageId,
    kind: 'notification',
    route: 'smtp',
    fallbackReason: null,
    status: 'sent',
    accepted: ['a@b.example'],
    rejected: [],
    attempts: 1,
    timings: { totalMs: 12, tenantMs: 10 },
    at: iso,
    ...over,
  };
}

function claimInput(tenantId: string, now: number, over: Partial<ClaimMessageInput> = {}): ClaimMessageInput {
  return {
    tenantId,
    key: 'msg-1',
    now,
    leaseUntil: now + 30_000,
    contentHash: 'hash-of-msg-1',
    ...over,
  };
}

describe('claimMessage', () => {
  it('gives the lease to exactly one of 10 racing receives', async () => {
    // Prepare
    const { store, tenantId } = setup();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => store.claimMessage(claimInput(tenantId, T0))),
    );

    // Assess
    expect(outcomes.filter((o) => o.outcome === 'claimed')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'leased')).toHaveLength(9);
    for (const o of outcomes) if (o.outcome === 'leased') expect(o.leaseUntil).toBe(T0 + 30_000);
  });

  it('tells leased, re-claimed after the lease, released and done apart, counting attempts', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const firstId = deliveryIdOf(deliverySkFor(new Date(T0).toISOString(), 'msg-1'));

    // Act
    const first = await store.claimMessage(claimInput(tenantId, T0));
    const whileLeased = await store.claimMessage(claimInput(tenantId, T0 + 29_999));
    const afterLease = await store.claimMessage(claimInput(tenantId, T0 + 30_001));
    const released = await store.releaseMessage(tenantId, 'msg-1');
    const afterRelease = await store.claimMessage(claimInput(tenantId, T0 + 30_002));
    await store.markMessageDone(tenantId, 'msg-1');
    const done = await store.claimMessage(claimInput(tenantId, T0 + 120_000));

    // Assess
    expect(first).toEqual({
      outcome: 'claimed',
      attempts: 1,
      deliveryId: firstId,
      firstClaim: true,
      lapsed: false,
    });
    expect(whileLeased).toEqual({ outcome: 'leased', leaseUntil: T0 + 30_000 });
    // The first lease ran out unreleased: its holder may have sent (lapsed).
    expect(afterLease).toEqual({
      outcome: 'claimed',
      attempts: 2,
      deliveryId: firstId,
      firstClaim: false,
      lapsed: true,
    });
    expect(released).toBe(true);
    expect(afterRelease).toEqual({
      outcome: 'claimed',
      attempts: 3,
      deliveryId: firstId,
      firstClaim: false,
      lapsed: false,
    });
    expect(done).toEqual({ outcome: 'done', deliveryId: firstId });
  });

  it('releases only its own lease when told which one it holds', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.claimMessage(claimInput(tenantId, T0));
    await store.claimMessage(claimInput(tenantId, T0 + 40_000)); // the first lease ran out; a second took over

    // Act
    const stale = await store.releaseMessage(tenantId, 'msg-1', T0 + 30_000);
    const meanwhile = await store.claimMessage(claimInput(tenantId, T0 + 41_000));
    const own = await store.releaseMessage(tenantId, 'msg-1', T0 + 70_000);
    const missing = await store.releaseMessage(tenantId, 'no-such-key');

    // Assess
    expect(stale).toBe(false);
    expect(meanwhile).toEqual({ outcome: 'leased', leaseUntil: T0 + 70_000 });
    expect(own).toBe(true);
    expect(missing).toBe(false);
  });

  it('treats a claim past its expiresAt as absent: attempts restart with a new delivery', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.claimMessage(claimInput(tenantId, T0));
    await store.markMessageDone(tenantId, 'msg-1');
    const later = T0 + 31 * DAY_MS;

    // Act
    const again = await store.claimMessage(claimInput(tenantId, later));

    // Assess
    expect(again).toEqual({
      outcome: 'claimed',
      attempts: 1,
      deliveryId: deliveryIdOf(deliverySkFor(new Date(later).toISOString(), 'msg-1')),
      firstClaim: true,
      lapsed: false,
    });
  });

  it('tells a key claimed for other content apart: conflict while live, done or leased alike', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const other = { contentHash: 'hash-of-another-message' };
    await store.claimMessage(claimInput(tenantId, T0));

    // Act
    const whileLeased = await store.claimMessage(claimInput(tenantId, T0 + 1_000, other));
    const afterLease = await store.claimMessage(claimInput(tenantId, T0 + 40_000, other));
    const same = await store.claimMessage(claimInput(tenantId, T0 + 40_001));
    await store.markMessageDone(tenantId, 'msg-1');
    const afterDone = await store.claimMessage(claimInput(tenantId, T0 + 80_000, other));
    const expired = await store.claimMessage(claimInput(tenantId, T0 + 31 * DAY_MS, other));

    // Assess
    expect(whileLeased).toEqual({ outcome: 'conflict' });
    expect(afterLease).toEqual({ outcome: 'conflict' });
    expect(same).toMatchObject({ outcome: 'claimed', attempts: 2 });
    expect(afterDone).toEqual({ outcome: 'conflict' });
    expect(expired).toMatchObject({ outcome: 'claimed', attempts: 1, firstClaim: true });
  });

  it('lets any content take a claim written before content hashes, and keeps that content from then on', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await dynamo.db().doc.send(
      new PutCommand({
        TableName: dynamo.db().tableName,
        Item: {
          pk: `IDEMP#${tenantId}#msg-1`,
          sk: 'CLAIM',
          leaseUntil: 0,
          attempts: 1,
          deliverySk: deliverySkFor(new Date(T0).toISOString(), 'msg-1'),
          expiresAt: T0 / 1000 + DAY_MS / 1000,
        },
      }),
    );

    // Act
    const legacy = await store.claimMessage(claimInput(tenantId, T0 + 1_000));
    await store.releaseMessage(tenantId, 'msg-1');
    const other = await store.claimMessage(claimInput(tenantId, T0 + 2_000, { contentHash: 'x' }));

    // Assess
    expect(legacy).toMatchObject({ outcome: 'claimed', attempts: 2 });
    expect(other).toEqual({ outcome: 'conflict' });
  });

  it('scopes keys per tenant', async () => {
    // Prepare
    const { store, tenantId } = setup();
    await store.claimMessage(claimInput(tenantId, T0));

    // Act
    const other = await store.claimMessage(claimInput(`${tenantId}-other`, T0));

    // Assess
    expect(other.outcome).toBe('claimed');
  });
});

describe('delivery records', () => {
  it('round-trips a record, drops undefined fields, and stores expiresAt 30 days out', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const record = delivery('m1', T0, {
      route: 'split',
      fallbackReason: 'server-temporary',
      status: 'partial',
      rejected: [{ address: 'x@b.example', responseCode: 550, response: '550 5.1.1 no such user' }],
      providerMessageId: undefined,
      possibleDuplicate: true,
    });

    // Act
    await store.putDelivery(tenantId, record);
    const read = await store.getDelivery(tenantId, record.id);
    const raw = await dynamo.db().doc.send(
      new GetCommand({
        TableName: dynamo.db().tableName,
        Key: { pk: `TENANT#${tenantId}`, sk: deliverySkOf(record.id) },
      }),
    );

    // Assess
    const { providerMessageId: _omitted, ...expected } = record;
    expect(read).toEqual(expected);
    expect(raw.Item?.expiresAt).toBe(T0 / 1000 + 30 * 24 * 60 * 60);
  });

  it('lists newest first, pages with a cursor, and ends with a null cursor', async () => {
    // Prepare
    const { store, tenantId } = setup();
    for (let i = 1; i <= 5; i++) await store.putDelivery(tenantId, delivery(`m${i}`, T0 + i * 1000));
    await store.claimMessage(claimInput(tenantId, T0)); // other items of the tenant stay out of the log

    // Act
    const page1 = await store.listDeliveries(tenantId, { limit: 2 });
    const page2 = await store.listDeliveries(tenantId, { limit: 2, cursor: page1.cursor });
    const page3 = await store.listDeliveries(tenantId, { limit: 2, cursor: page2.cursor });

    // Assess
    expect(page1.items.map((d) => d.messageId)).toEqual(['m5', 'm4']);
    expect(page2.items.map((d) => d.messageId)).toEqual(['m3', 'm2']);
    expect(page3.items.map((d) => d.messageId)).toEqual(['m1']);
    expect(page3.cursor).toBeNull();
  });

  it('refuses a cursor that points outside the tenant delivery log', async () => {
    // Prepare
    const { store, tenantId } = setup();

    // Act
    const other = store.listDeliveries(tenantId, {
      limit: 2,
      cursor: encodeCursor({ pk: 'TENANT#someone-else', sk: 'DELIVERY#x' }),
    });
    const notDelivery = store.listDeliveries(tenantId, {
      limit: 2,
      cursor: encodeCursor({ pk: `TENANT#${tenantId}`, sk: 'SENDER' }),
    });

    // Assess
    await expect(other).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(notDelivery).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('hides delivery items past expiresAt from every reader', async () => {
    // Prepare
    const { store, clock, tenantId } = setup();
    const old = delivery('msg-1', T0);
    await store.claimMessage(claimInput(tenantId, T0));
    await store.putDelivery(tenantId, old);
    clock.set(T0 + 10 * DAY_MS);
    await store.putDelivery(tenantId, delivery('recent', T0 + 10 * DAY_MS));
    clock.set(T0 + 30 * DAY_MS + 1000);

    // Act
    const list = await store.listDeliveries(tenantId, { limit: 10 });
    const byKey = await store.getDelivery(tenantId, old.id);
    const byId = await store.getDeliveryByMessageId(tenantId, 'msg-1');

    // Assess
    expect(list.items.map((d) => d.messageId)).toEqual(['recent']);
    expect(byKey).toBeNull();
    expect(byId).toBeNull();
  });

  it('finds a delivery by messageId through the claim item', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const claim = await store.claimMessage(claimInput(tenantId, T0, { key: 'idem-7' }));
    const id = claim.outcome === 'claimed' ? claim.deliveryId : 'unreachable';
    await store.putDelivery(tenantId, delivery('idem-7', T0, { id }));

    // Act
    const found = await store.getDeliveryByMessageId(tenantId, 'idem-7');
    const unknown = await store.getDeliveryByMessageId(tenantId, 'never-sent');
    const otherTenant = await store.getDeliveryByMessageId(`${tenantId}-other`, 'idem-7');

    // Assess
    expect(found?.id).toBe(id);
    expect(found?.messageId).toBe('idem-7');
    expect(unknown).toBeNull();
    expect(otherTenant).toBeNull();
  });
});

describe('hitRateLimit', () => {
  it('allows 5 hits per window, refuses the 6th, and allows again in the next window', async () => {
    // Prepare
    const { store, clock, tenantId } = setup();
    const key = `sendTo#${tenantId}`;
    clock.set(T0 + 5_000);

    // Act
    const inWindow = [];
    for (let i = 0; i < 6; i++) inWindow.push(await store.hitRateLimit(key, 5, 60));
    const otherKey = await store.hitRateLimit(`${key}-other`, 5, 60);
    clock.set(T0 + 60_000);
    const nextWindow = await store.hitRateLimit(key, 5, 60);

    // Assess
    expect(inWindow).toEqual([true, true, true, true, true, false]);
    expect(otherKey).toBe(true);
    expect(nextWindow).toBe(true);
    const raw = await dynamo.db().doc.send(
      new GetCommand({
        TableName: dynamo.db().tableName,
        Key: { pk: `RATE#${key}#${T0 / 1000}`, sk: 'COUNTER' },
      }),
    );
    expect(raw.Item).toMatchObject({ count: 5, expiresAt: T0 / 1000 + 120 });
  });

  it('counts racing hits exactly', async () => {
    // Prepare
    const { store, tenantId } = setup();

    // Act
    const results = await Promise.all(Array.from({ length: 8 }, () => store.hitRateLimit(tenantId, 5, 60)));

    // Assess
    expect(results.filter(Boolean)).toHaveLength(5);
  });
});
