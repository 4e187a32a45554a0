import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nearValidSender } from '../support/api-bodies';
import { type ConfigApiFixture, smtpConfigBody, startConfigApiFixture } from '../support/config-api';

// Bad input never yields a 500: random JSON, random text and near-valid bodies through the real gateway.
const PASSWORD = 'pw-Property-run~8';
const RUNS = 120;

let api: ConfigApiFixture;
let token: string;

beforeAll(async () => {
  api = await startConfigApiFixture();
  token = await api.token('acme');
  // A stored config, so omitted passwords and `{}` tests have something to resolve against.
  await api.call('PUT', '/tenants/acme/sender', { token, body: smtpConfigBody(PASSWORD) });
});

afterAll(async () => {
  await api?.close();
});

const OK = new Set([200, 204, 400, 404, 422, 429]);

async function statusOf(method: string, path: string, options: { body?: unknown; raw?: string }) {
  const res = await api.call(method, path, { token, ...options });
  return res.status;
}

describe('config API: bad input never gives a 500', () => {
  it('for any JSON value as a PUT or test body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.boolean(), async (value, isTest) => {
        const status = isTest
          ? await statusOf('POST', '/tenants/acme/sender/test', { raw: JSON.stringify(value) })
          : await statusOf('PUT', '/tenants/acme/sender', { raw: JSON.stringify(value) });
        expect(OK.has(status), `status ${status}`).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('for any text as a body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), async (raw) => {
        const status = await statusOf('PUT', '/tenants/acme/sender', { raw });
        expect([400, 422]).toContain(status);
      }),
      { numRuns: RUNS },
    );
  });

  it('for any value (fc.anything) that JSON can carry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything({ withNullPrototype: true, withObjectString: true }), async (value) => {
        const raw = JSON.stringify(value) ?? 'undefined';
        const status = await statusOf('PUT', '/tenants/acme/sender', { raw });
        expect([200, 400, 422]).toContain(status);
      }),
      { numRuns: RUNS },
    );
  });

  it('for near-valid configs on PUT and on the test endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(nearValidSender(PASSWORD), fc.boolean(), async (body, isTest) => {
        const status = isTest
          ? await statusOf('POST', '/tenants/acme/sender/test', { body })
          : await statusOf('PUT', '/tenants/acme/sender', { body });
        expect(OK.has(status), `status ${status}`).toBe(true);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('for any limit, cursor and messageId', async () => {
    // '.' and '..' are path segments a URL resolves away: the request never reaches the messageId route.
    const messageId = fc.oneof(fc.constantFrom('.', '..'), fc.string({ minLength: 1 }));
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), messageId, async (limit, cursor, id) => {
        const q = `?limit=${encodeURIComponent(limit)}&cursor=${encodeURIComponent(cursor)}`;
        const list = await statusOf('GET', `/tenants/acme/deliveries${q}`, {});
        const one = await statusOf('GET', `/tenants/acme/deliveries/${encodeURIComponent(id)}`, {});
        expect([200, 400]).toContain(list);
        expect([404]).toContain(one);
      }),
      { numRuns: RUNS },
    );
  });

  it('answered every request as documented and leaked no password', async () => {
    expect(api.exchanges.length).toBeGreaterThan(RUNS * 5);
    const statuses = new Set(api.exchanges.map((e) => e.status));
    for (const status of [200, 400, 404, 422]) expect(statuses).toContain(status);
    expect(statuses).not.toContain(500);
    expect(api.contractViolations()).toEqual([]);
    expect(await api.leaks([PASSWORD])).toEqual([]);
  });
});
