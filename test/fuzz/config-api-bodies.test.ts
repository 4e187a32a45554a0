import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { nearValidNotifications, nearValidSender } from '../support/api-bodies';
import { apiEvent } from '../support/api-event';
import { type ConfigApiFixture, smtpConfigBody, startConfigApiFixture } from '../support/config-api';

// 10,000 generated bodies per write route, straight into the config API handler (no HTTP, so the run
// stays short): bad input is a 4xx, and a 400/422 names the field at fault; never a 500.

const RUNS = 10_000;
const PASSWORD = 'pw-Fuzz-run~42';

let api: ConfigApiFixture;

beforeAll(async () => {
  api = await startConfigApiFixture({ alerts: true });
  // A stored config, so bodies without a password have something to resolve against.
  await api.call('PUT', '/tenants/acme/sender', {
    token: await api.token('acme'),
    body: smtpConfigBody(PASSWORD),
  });
});

afterAll(async () => {
  await api?.close();
});

/** Any body a client could send: near-valid for the route, any JSON, any text. */
function bodies(nearValid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: nearValid.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
  );
}

const routes: [string, string, fc.Arbitrary<string>][] = [
  ['PUT', '/tenants/acme/sender', bodies(nearValidSender(PASSWORD))],
  ['POST', '/tenants/acme/sender/test', bodies(nearValidSender(PASSWORD))],
  ['PUT', '/tenants/acme/notifications', bodies(nearValidNotifications)],
  [
    'PUT',
    '/tenants/acme/suppressions/lead%40customer.example',
    bodies(
      fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue(), { maxKeys: 2 })),
    ),
  ],
];

describe('fuzz: generated bodies on every write route of the config API', () => {
  it.each(routes)(
    `${RUNS} bodies on %s %s: 4xx naming the field, never 500`,
    async (method, path, body) => {
      const statuses = new Map<number, number>();
      // Sender tests count against 30 a minute per tenant: each body gets a minute of its own, so every one
      // reaches validation instead of a 429.
      let minute = 0;
      await fc.assert(
        fc.asyncProperty(body, async (raw) => {
          // Routed by method and path, as behind API Gateway's $default route.
          const event = apiEvent(method, path, { body: raw });
          minute += 1;
          api.clock.set(Date.UTC(2031, 0, 1) + minute * 61_000);
          const context = localLambdaContext('config-api', 20_000);
          const res = (await api.handler(event, context)) as APIGatewayProxyStructuredResultV2;
          const status = res.statusCode ?? 0;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, raw.slice(0, 300)).toBeLessThan(500);
          if (status === 400 || status === 422) {
            const error = (JSON.parse(String(res.body)) as { error?: { field?: unknown } }).error;
            expect(typeof error?.field === 'string' && error.field !== '', `${status} ${res.body}`).toBe(
              true,
            );
          }
        }),
        { numRuns: RUNS, seed: 42, endOnFailure: true },
      );
      expect(statuses.get(429) ?? 0).toBe(0);
      expect((statuses.get(400) ?? 0) + (statuses.get(422) ?? 0)).toBeGreaterThan(RUNS / 2);
    },
    600_000,
  );

  it('leaked no password', async () => {
    expect(await api.leaks([PASSWORD])).toEqual([]);
  });
});
