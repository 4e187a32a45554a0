import { describe, expect, it } from 'vitest';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import { createConfigApi } from '../../functions/config-api/app';
import type { ConfigApiDeps } from '../../functions/config-api/deps';
import type { SmtpCredentials, VettedTarget } from '../../functions/core/ports';
import { type SenderConfig, systemClock } from '../../functions/core/types';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { apiEvent } from '../support/api-event';

// The test endpoint's budget covers everything it waits for (DNS, KMS, SMTP), and no DNS answer that
// never comes can hold a PUT until the Lambda times out (a 5xx for bad input). Stubs, real time.
const BUDGET_MS = 300;
const VETTED: VettedTarget = { host: 'smtp.acme.example', address: '52.94.236.248', family: 4 };

const STORED: SenderConfig = {
  tenantId: 'acme',
  mode: 'smtp',
  fallback: 'platform',
  smtp: {
    host: 'smtp.acme.example',
    port: 587,
    security: 'starttls',
    username: 'notifications@acme.example',
    passwordCiphertext: 'Y2lwaGVydGV4dA==',
    fromAddress: 'notifications@acme.example',
  },
  version: 1,
  updatedAt: '2030-01-01T00:00:00.000Z',
};

const never = <T>() => new Promise<T>(() => undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function event(method: string, path: string, json?: unknown) {
  return apiEvent(method, path, json === undefined ? {} : { json });
}

interface StubOptions {
  vet?: () => Promise<VettedTarget>;
  /** The real sender, asking these credentials, instead of a stub that answers at once. */
  credentials?: SmtpCredentials;
}

function stubs(options: StubOptions = {}) {
  const deadlines: number[] = [];
  const connects: string[] = [];
  const deps = {
    store: {
      getSender: async () => STORED,
      hitRateLimit: async () => true,
    },
    guard: { vet: options.vet ?? (async () => VETTED) },
    smtp: options.credentials
      ? createTenantSmtpSender({
          vet: async (host) => {
            connects.push(host);
            return { address: '127.0.0.1' };
          },
          credentials: options.credentials,
          clock: systemClock,
        })
      : {
          verify: async (_target: unknown, opts: { deadline: number }) => {
            deadlines.push(opts.deadline);
            return { ok: true, durationMs: 1 };
          },
        },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    clock: systemClock,
    allowPrivateSmtp: false,
    testBudgetMs: BUDGET_MS,
    guardTimeoutMs: BUDGET_MS,
  } as unknown as ConfigApiDeps;
  return { api: createConfigApi(deps), deadlines, connects };
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number; started: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started, started };
}

const context = () => localLambdaContext('config-api', 10_000);

describe('config API test endpoint: one budget for everything', () => {
  it('counts the time the guard’s DNS lookup took against the budget', async () => {
    // Prepare: DNS answers after two thirds of the budget.
    const { api, deadlines } = stubs({ vet: () => sleep((BUDGET_MS * 2) / 3).then(() => VETTED) });

    // Act
    const { value: res, started } = await timed(
      api(event('POST', '/tenants/acme/sender/test', {}), context()),
    );

    // Assess
    expect(res.statusCode).toBe(200);
    expect(deadlines).toHaveLength(1);
    expect(deadlines[0]).toBeLessThanOrEqual(started + BUDGET_MS + 20);
  });

  it('answers a KMS decrypt that never returns as a credentials failure within the budget', async () => {
    // Prepare: the sender asks for the stored password when it connects; KMS never answers.
    const { api, connects } = stubs({ credentials: { credentialFor: never, invalidate: () => undefined } });

    // Act
    const { value: res, ms } = await timed(api(event('POST', '/tenants/acme/sender/test', {}), context()));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body ?? '')).toMatchObject({
      ok: false,
      class: 'credentials',
      phase: 'DECRYPT',
      code: 'ETIMEDOUT',
    });
    expect(ms).toBeLessThan(BUDGET_MS + 500);
    expect(connects).toEqual([]);
  });

  it('answers a DNS lookup that never returns with 422 dns-failure within the budget', async () => {
    // Prepare
    const { api, deadlines } = stubs({ vet: never });

    // Act
    const { value: res, ms } = await timed(api(event('POST', '/tenants/acme/sender/test', {}), context()));

    // Assess
    expect(res.statusCode).toBe(422);
    expect(JSON.parse(res.body ?? '')).toMatchObject({ error: { code: 'dns-failure', field: 'smtp.host' } });
    expect(ms).toBeLessThan(BUDGET_MS + 500);
    expect(deadlines).toEqual([]);
  });
});

describe('config API PUT: a DNS lookup that never returns', () => {
  it('is answered with 422 dns-failure after the guard timeout, not left to the Lambda timeout', async () => {
    // Prepare
    const { api } = stubs({ vet: never });
    const body = {
      mode: 'smtp',
      smtp: { ...STORED.smtp, passwordCiphertext: undefined, password: 'pw-Budget-put!6' },
    };

    // Act
    const { value: res, ms } = await timed(api(event('PUT', '/tenants/acme/sender', body), context()));

    // Assess
    expect(res.statusCode).toBe(422);
    expect(JSON.parse(res.body ?? '')).toMatchObject({ error: { code: 'dns-failure', field: 'smtp.host' } });
    expect(ms).toBeLessThan(BUDGET_MS + 500);
  });
});
