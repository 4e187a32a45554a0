import { describe, expect, it } from 'vitest';
import { type ConfigApiFixture, useConfigApiFixture } from '../support/config-api';

let api: ConfigApiFixture;
let acme: string;
let globex: string;
let admin: string;

useConfigApiFixture((session) => {
  ({ api, acme, globex, admin } = session);
});

const path = (tenantId: string, address?: string) =>
  `/tenants/${tenantId}/suppressions${address === undefined ? '' : `/${encodeURIComponent(address)}`}`;

describe('config API: suppression list', () => {
  it('adds an address by hand, normalised as the dispatcher does, and reads it back in any spelling', async () => {
    // Act
    const put = await api.call('PUT', path('acme', 'Anna@Bücher.Example'), { token: acme, body: {} });
    const one = await api.call('GET', path('acme', 'ANNA@xn--bcher-kva.example'), { token: acme });
    const list = await api.call('GET', path('acme'), { token: acme });

    // Assess
    const expected = {
      address: 'anna@xn--bcher-kva.example',
      reason: 'manual',
      source: 'api',
      at: expect.any(String),
    };
    expect(put).toMatchObject({ status: 200, body: expected });
    expect(one).toMatchObject({ status: 200, body: expected });
    expect(list).toMatchObject({ status: 200, body: { items: [expected], cursor: null } });
  });

  it("keeps tenants apart: another tenant can neither read nor delete acme's entry", async () => {
    // Prepare
    await api.call('PUT', path('acme', 'shared@example.org'), { token: acme, body: {} });

    // Act
    const readForeign = await api.call('GET', path('acme', 'shared@example.org'), { token: globex });
    const deleteForeign = await api.call('DELETE', path('acme', 'shared@example.org'), { token: globex });
    const ownList = await api.call('GET', path('globex'), { token: globex });
    const ownRead = await api.call('GET', path('globex', 'shared@example.org'), { token: globex });
    const ownDelete = await api.call('DELETE', path('globex', 'shared@example.org'), { token: globex });

    // Assess
    expect([readForeign.status, deleteForeign.status]).toEqual([403, 403]);
    expect(ownList.body).toEqual({ items: [], cursor: null });
    expect([ownRead.status, ownDelete.status]).toEqual([404, 404]);
    expect((await api.call('GET', path('acme', 'shared@example.org'), { token: acme })).status).toBe(200);
  });

  it('removes an entry (204), then answers 404 for it', async () => {
    await api.call('PUT', path('acme', 'temp@example.org'), { token: acme, body: {} });

    const deleted = await api.call('DELETE', path('acme', 'Temp@Example.org'), { token: admin });
    const again = await api.call('DELETE', path('acme', 'temp@example.org'), { token: acme });
    const read = await api.call('GET', path('acme', 'temp@example.org'), { token: acme });

    expect([deleted.status, again.status, read.status]).toEqual([204, 404, 404]);
  });

  it('refuses what is not an address, and a body other than {}', async () => {
    const bad = await api.call('PUT', path('acme', 'not an address'), { token: acme, body: {} });
    const body = await api.call('PUT', path('acme', 'x@example.org'), {
      token: acme,
      body: { reason: 'bounce' },
    });
    const read = await api.call('GET', path('acme', 'not-an-address'), { token: acme });

    expect(bad).toMatchObject({ status: 422, body: { error: { code: 'validation', field: 'address' } } });
    expect(body).toMatchObject({ status: 422, body: { error: { code: 'validation', field: 'reason' } } });
    expect(read.status).toBe(404);
  });

  it('pages with a cursor, and refuses a forged one with 400', async () => {
    // Prepare
    for (const a of ['p1@example.net', 'p2@example.net', 'p3@example.net']) {
      await api.call('PUT', path('paged', a), { token: admin, body: {} });
    }

    // Act
    const first = await api.call('GET', `${path('paged')}?limit=2`, { token: admin });
    const cursor = (first.body as { cursor: string }).cursor;
    const second = await api.call('GET', `${path('paged')}?limit=2&cursor=${encodeURIComponent(cursor)}`, {
      token: admin,
    });
    const forged = await api.call('GET', `${path('paged')}?cursor=bm90LWFuLWFkZHJlc3M`, { token: admin });

    // Assess
    expect((first.body as { items: unknown[] }).items).toHaveLength(2);
    expect(second.body).toMatchObject({ items: [{ address: 'p3@example.net' }], cursor: null });
    expect(forged).toMatchObject({ status: 400, body: { error: { code: 'bad-request', field: 'cursor' } } });
  });

  it('answered every request as the OpenAPI document says', () => {
    expect(api.contractViolations()).toEqual([]);
  });
});
