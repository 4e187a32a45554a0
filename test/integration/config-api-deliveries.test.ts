import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../functions/core/ports';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';

let api: ConfigApiFixture;
let acme: string;
let globex: string;
let admin: string;

const T0 = Date.UTC(2030, 0, 1, 8, 0, 0);

/** A delivery as the dispatcher records it: claim (messageId → delivery id) plus the delivery item. */
async function seed(tenantId: string, messageId: string, atMs: number, over: Partial<DeliveryRecord> = {}) {
  const at = new Date(atMs).toISOString();
  const claim = await api.store.claimMessage({
    tenantId,
    key: messageId,
    leaseUntil: atMs + 30_000,
    now: atMs,
    contentHash: `content of ${messageId}`,
  });
  if (claim.outcome !== 'claimed') throw new Error(`seed: ${messageId} already claimed`);
  await api.store.putDelivery(tenantId, {
    id: claim.deliveryId,
    messageId,
    kind: 'notification',
    route: 'smtp',
    fallbackReason: null,
    status: 'sent',
    accepted: ['lead@example.org'],
    rejected: [],
    response: '250 2.0.0 Ok: queued',
    attempts: 1,
    timings: { totalMs: 120, tenantMs: 100 },
    at,
    ...over,
  });
}

beforeAll(async () => {
  api = await startConfigApiFixture();
  api.clock.set(T0 + 60 * 60_000);
  [acme, globex, admin] = await Promise.all([
    api.token('acme'),
    api.token('globex'),
    api.token('ops', { admin: true }),
  ]);
  for (let i = 0; i < 25; i++) await seed('acme', `acme-${String(i).padStart(2, '0')}`, T0 + i * 1000);
  await seed('acme', 'acme-split', T0 + 30_000, {
    route: 'split',
    fallbackReason: 'recipient-rejected',
    status: 'partial',
    accepted: ['a@example.org'],
    rejected: [{ address: 'gone@example.org', responseCode: 550, response: '550 5.1.1 No such user' }],
    possibleDuplicate: true,
    providerMessageId: '<ses-1@example.org>',
    attempts: 2,
    suppressed: ['old@example.org'],
    events: [{ type: 'delivered', at: new Date(T0 + 31_000).toISOString(), recipient: 'a@example.org' }],
  });
  for (let i = 0; i < 3; i++)
    await seed('globex', `globex-${i}`, T0 + i * 1000, { route: 'platform', fallbackReason: 'unhealthy' });
});

afterAll(async () => {
  await api?.close();
});

type Page = { items: Array<{ messageId: string; at: string }>; cursor: string | null };

describe('config API: delivery log', () => {
  it('lists newest first, 20 by default, in the contract’s shape', async () => {
    // Act
    const res = await api.call('GET', '/tenants/acme/deliveries', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    const page = res.body as Page;
    expect(page.items).toHaveLength(20);
    expect(page.items[0]).toEqual({
      at: new Date(T0 + 30_000).toISOString(),
      messageId: 'acme-split',
      kind: 'notification',
      route: 'split',
      fallbackReason: 'recipient-rejected',
      status: 'partial',
      accepted: ['a@example.org'],
      rejected: [{ address: 'gone@example.org', responseCode: 550, response: '550 5.1.1 No such user' }],
      response: '250 2.0.0 Ok: queued',
      suppressed: ['old@example.org'],
      events: [{ type: 'delivered', at: new Date(T0 + 31_000).toISOString(), recipient: 'a@example.org' }],
    });
    expect(page.items[1]).toMatchObject({ messageId: 'acme-24', suppressed: [], events: [] });
    expect(page.cursor).toEqual(expect.any(String));
  });

  it('pages through everything with the cursor, and the last page has none', async () => {
    // Act
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=10&cursor=${encodeURIComponent(cursor)}` : '?limit=10';
      const res = await api.call('GET', `/tenants/acme/deliveries${query}`, { token: acme });
      expect(res.status).toBe(200);
      const page = res.body as Page;
      seen.push(...page.items.map((item) => item.messageId));
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 10);

    // Assess
    expect(pages).toBe(3);
    expect(seen).toHaveLength(26);
    expect(new Set(seen).size).toBe(26);
    expect(seen.slice(1)).toEqual(
      Array.from({ length: 25 }, (_, i) => `acme-${String(24 - i).padStart(2, '0')}`),
    );
  });

  it.each(['0', '101', '-5', 'ten', '2.5', ''])('answers limit=%j with 400 bad-request', async (limit) => {
    // Act
    const res = await api.call('GET', `/tenants/acme/deliveries?limit=${limit}`, { token: acme });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad-request', field: 'limit' } });
  });

  it('refuses another tenant’s cursor, a forged one and a garbled one with 400', async () => {
    // Prepare
    const theirs = (
      (await api.call('GET', '/tenants/globex/deliveries?limit=1', { token: globex })).body as Page
    ).cursor;
    const forged = Buffer.from(JSON.stringify({ pk: 'TENANT#globex', sk: 'DELIVERY#9999' })).toString(
      'base64url',
    );
    const sender = Buffer.from(JSON.stringify({ pk: 'TENANT#acme', sk: 'SENDER' })).toString('base64url');
    const cursors = [theirs ?? '', forged, sender, 'not-a-cursor', '%%%'];

    // Act
    const answers = [];
    for (const cursor of cursors) {
      answers.push(
        await api.call('GET', `/tenants/acme/deliveries?cursor=${encodeURIComponent(cursor)}`, {
          token: acme,
        }),
      );
    }

    // Assess
    expect(theirs).toEqual(expect.any(String));
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'bad-request', field: 'cursor' } });
      expect(res.text).not.toContain('globex-');
    }
  });

  it('keeps an admin’s cursor to the tenant it came from', async () => {
    // Prepare
    const acmeCursor = (
      (await api.call('GET', '/tenants/acme/deliveries?limit=2', { token: admin })).body as Page
    ).cursor;

    // Act
    const res = await api.call('GET', `/tenants/globex/deliveries?cursor=${acmeCursor}`, { token: admin });

    // Assess
    expect(res.status).toBe(400);
  });

  it('answers an empty log with no items and no cursor', async () => {
    // Act
    const res = await api.call('GET', '/tenants/initech/deliveries', { token: admin });

    // Assess
    expect(res.body).toEqual({ items: [], cursor: null });
  });

  it('finds one delivery by its messageId, with attempts and the duplicate flag', async () => {
    // Act
    const res = await api.call('GET', '/tenants/acme/deliveries/acme-split', { token: acme });

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      messageId: 'acme-split',
      status: 'partial',
      attempts: 2,
      possibleDuplicate: true,
      providerMessageId: '<ses-1@example.org>',
      suppressed: ['old@example.org'],
      events: [{ type: 'delivered', recipient: 'a@example.org' }],
    });
  });

  it('answers 404 for an unknown messageId, and for another tenant’s', async () => {
    // Act
    const unknown = await api.call('GET', '/tenants/acme/deliveries/nope', { token: acme });
    const foreign = await api.call('GET', '/tenants/acme/deliveries/globex-1', { token: acme });
    const tooLong = await api.call('GET', `/tenants/acme/deliveries/${'x'.repeat(200)}`, { token: acme });

    // Assess
    expect(unknown.status).toBe(404);
    expect(foreign.status).toBe(404);
    expect(tooLong.status).toBe(404);
    expect(foreign.body).toMatchObject({ error: { code: 'not-found' } });
  });

  it('answers 403 for another tenant’s log', async () => {
    // Act
    const list = await api.call('GET', '/tenants/globex/deliveries', { token: acme });
    const one = await api.call('GET', '/tenants/globex/deliveries/globex-1', { token: acme });

    // Assess
    expect(list.status).toBe(403);
    expect(one.status).toBe(403);
  });

  it('answered every request as the OpenAPI document says', () => {
    expect(api.contractViolations()).toEqual([]);
  });
});
