import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../functions/adapters/dynamo-store';
import { createSuppressionStore } from '../../functions/adapters/dynamo-suppressions';
import { InvalidCursorError } from '../../functions/core/errors';
import { type DeliveryEvent, MAX_DELIVERY_EVENTS, suppressedKey } from '../../functions/core/suppression';
import { type DynamoFixture, localDynamoClient, manualClock, startDynamo } from '../support/dynamo';
import { countCommands } from '../support/sdk';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

let db: DynamoFixture;
let seq = 0;

beforeAll(async () => {
  db = await startDynamo();
});

afterAll(async () => {
  await db?.close();
});

/** A store over its own client, so a test counts only its own calls. */
function setup() {
  const client = localDynamoClient(db.endpoint);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const counts = countCommands(client as never);
  const clock = manualClock(T0);
  const options = { doc, tableName: db.tableName, clock };
  seq += 1;
  const tenantId = `s${seq}-${Math.random().toString(36).slice(2, 8)}`;
  return { store: createSuppressionStore(options), messages: createDynamoStore(options), counts, tenantId };
}

const entry = (address: string, reason: 'bounce' | 'complaint' | 'manual' = 'bounce') =>
  ({ address, reason, source: 'ses', at: new Date(T0).toISOString(), messageId: 'm-1' }) as const;

describe('suppression items', () => {
  it('are kept per tenant: another tenant neither sees nor deletes them', async () => {
    // Prepare
    const { store, tenantId } = setup();
    const other = `${tenantId}-other`;
    await store.putSuppression(tenantId, entry('gone@b.example'));

    // Act
    const mine = await store.getSuppression(tenantId, 'gone@b.example');
    const theirs = await store.getSuppression(other, 'gone@b.example');
    const deletedByOther = await store.deleteSuppression(other, 'gone@b.example');
    const found = await store.suppressedAmong([
      { tenantId, address: 'gone@b.example' },
      { tenantId: other, address: 'gone@b.example' },
    ]);

    // Assess
    expect(mine).toEqual(entry('gone@b.example'));
    expect(theirs).toBeNull();
    expect(deletedByOther).toBe(false);
    expect([...found]).toEqual([suppressedKey(tenantId, 'gone@b.example')]);
    expect(await store.deleteSuppression(tenantId, 'gone@b.example')).toBe(true);
    expect(await store.getSuppression(tenantId, 'gone@b.example')).toBeNull();
  });

  it('looks up 10 messages × 50 recipients in 5 BatchGetItem calls, duplicates once', async () => {
    // Prepare
    const { store, counts, tenantId } = setup();
    await store.putSuppression(tenantId, entry('r7@b.example'));
    await store.putSuppression(tenantId, entry('r349@b.example'));
    const pairs = Array.from({ length: 500 }, (_, i) => ({ tenantId, address: `r${i}@b.example` }));
    for (const k of Object.keys(counts)) delete counts[k];

    // Act
    const found = await store.suppressedAmong([...pairs, ...pairs.slice(0, 20)]);

    // Assess
    expect(counts).toEqual({ BatchGetItemCommand: 5 });
    expect([...found].sort()).toEqual(
      [suppressedKey(tenantId, 'r349@b.example'), suppressedKey(tenantId, 'r7@b.example')].sort(),
    );
  });

  it('makes no call for no recipients', async () => {
    const { store, counts } = setup();

    expect((await store.suppressedAmong([])).size).toBe(0);
    expect(counts).toEqual({});
  });

  it('lists in pages with a cursor bound to the list', async () => {
    // Prepare
    const { store, tenantId } = setup();
    for (const a of ['a@b.example', 'b@b.example', 'c@b.example'])
      await store.putSuppression(tenantId, entry(a));

    // Act
    const first = await store.listSuppressions(tenantId, { limit: 2 });
    const second = await store.listSuppressions(tenantId, { limit: 2, cursor: first.cursor });

    // Assess
    expect(first.items.map((i) => i.address)).toEqual(['a@b.example', 'b@b.example']);
    expect(second.items.map((i) => i.address)).toEqual(['c@b.example']);
    expect(second.cursor).toBeNull();
    await expect(
      store.listSuppressions(tenantId, { limit: 2, cursor: 'not*a*cursor' }),
    ).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(store.listSuppressions(tenantId, { limit: 2, cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    );
  });
});

describe('the delivery timeline', () => {
  const delivered = (n: number): DeliveryEvent => ({
    type: 'delivered',
    at: new Date(T0 + n).toISOString(),
    recipient: `r${n}@b.example`,
  });

  /** A claimed message whose delivery the dispatcher recorded after an SES send with id `ses-1`. */
  async function recorded(s: ReturnType<typeof setup>, providerMessageId = 'ses-1') {
    const claim = await s.messages.claimMessage({
      tenantId: s.tenantId,
      key: 'msg-1',
      now: T0,
      leaseUntil: T0 + 30_000,
      contentHash: 'hash-of-msg-1',
    });
    if (claim.outcome !== 'claimed') throw new Error('not claimed');
    await s.messages.putDelivery(s.tenantId, {
      id: claim.deliveryId,
      messageId: 'msg-1',
      kind: 'notification',
      route: 'platform',
      fallbackReason: null,
      status: 'sent',
      accepted: ['a@b.example'],
      rejected: [],
      providerMessageId,
      attempts: 1,
      timings: { totalMs: 5 },
      at: new Date(T0).toISOString(),
    });
  }

  const append = (s: ReturnType<typeof setup>, eventId: string, events: DeliveryEvent[], pm = 'ses-1') =>
    s.store.appendEvents({
      tenantId: s.tenantId,
      messageId: 'msg-1',
      providerMessageId: pm,
      eventId,
      events,
    });

  it('appends an event once however often it comes', async () => {
    // Prepare
    const s = setup();
    await recorded(s);

    // Act
    const first = await append(s, 'e1', [delivered(1)]);
    const again = await append(s, 'e1', [delivered(1)]);
    const record = await s.messages.getDeliveryByMessageId(s.tenantId, 'msg-1');

    // Assess
    expect([first, again]).toEqual(['appended', 'duplicate']);
    expect((record as { events?: unknown }).events).toEqual([delivered(1)]);
    expect(record?.status).toBe('sent');
  });

  it(`keeps the newest ${MAX_DELIVERY_EVENTS} entries`, async () => {
    const s = setup();
    await recorded(s);

    for (let i = 0; i < 25; i += 1) await append(s, `e${i}`, [delivered(i)]);
    const record = (await s.messages.getDeliveryByMessageId(s.tenantId, 'msg-1')) as {
      events?: DeliveryEvent[];
    };

    expect(record.events).toHaveLength(MAX_DELIVERY_EVENTS);
    expect(record.events?.[0]).toEqual(delivered(5));
  });

  it('appends nothing before the delivery records that SES send', async () => {
    // Prepare: no claim at all, then a delivery recorded for another SES send.
    const s = setup();
    const before = await append(s, 'e1', [delivered(1)]);
    await recorded(s, 'ses-other');

    // Act
    const other = await append(s, 'e1', [delivered(1)]);

    // Assess
    expect([before, other]).toEqual(['not-recorded', 'not-recorded']);
  });

  it('loses no entry when appends race', async () => {
    const s = setup();
    await recorded(s);

    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) => append(s, `e${i}`, [delivered(i)])),
    );
    const record = (await s.messages.getDeliveryByMessageId(s.tenantId, 'msg-1')) as {
      events?: DeliveryEvent[];
    };

    expect(results).toEqual(['appended', 'appended', 'appended', 'appended']);
    expect(record.events?.map((e) => e.recipient).sort()).toEqual(
      ['r0@b.example', 'r1@b.example', 'r2@b.example', 'r3@b.example'].sort(),
    );
  });
});
