import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';
import { PLATFORM_DOMAIN, SES_ARN_PREFIX } from '../support/domains';

// The admin SES tenant routes (docs/design.md §20) over the SES v2 stand-in.

let api: ConfigApiFixture;

beforeAll(async () => {
  api = await startConfigApiFixture({ domains: true });
});

afterAll(async () => {
  const violations = api.contractViolations();
  await api?.close();
  expect(violations).toEqual([]);
});

async function call(tenantId: string, method: string, body?: unknown, admin = true) {
  const token = await api.token(admin ? 'ops' : tenantId, { admin });
  return api.call(method, `/tenants/${tenantId}/ses`, { token, ...(body !== undefined && { body }) });
}

describe('GET/PUT /tenants/{id}/ses', () => {
  it('makes the SES tenant with the stack policy, then sets and shows the policy an admin asks for', async () => {
    // Act
    const before = await call('sesco', 'GET');
    const put = await call('sesco', 'PUT', { reputationPolicy: 'strict' });
    const after = await call('sesco', 'GET');

    // Assess
    expect(before.status).toBe(404);
    expect(put.status).toBe(200);
    expect(put.body).toEqual({
      tenantName: 'tm-sesco',
      sendingStatus: 'ENABLED',
      reputationPolicy: 'strict',
      reputationImpact: 'LOW',
    });
    expect(after.body).toEqual(put.body);
  });

  it('shows the standard policy SES tenants get when they are made, and SES pausing the tenant', async () => {
    // Prepare: the SES tenant made on first need (a domain claim), then paused by SES.
    const token = await api.token('pauseco');
    expect((await api.call('PUT', '/tenants/pauseco/domains/pauseco.example', { token })).status).toBe(201);
    const standIn = api.domains?.ses.standIn?.url;
    expect((await fetch(`${standIn}/_local/tenants/tm-pauseco/pause`, { method: 'POST' })).status).toBe(200);

    // Act
    const got = await call('pauseco', 'GET');

    // Assess
    expect(got.body).toMatchObject({
      tenantName: 'tm-pauseco',
      sendingStatus: 'DISABLED',
      reputationPolicy: 'standard',
    });
  });

  it('refuses a tenant’s own token (admin only) and a policy SES does not have', async () => {
    // Act
    const own = await call('sesco', 'GET', undefined, false);
    const ownPut = await call('sesco', 'PUT', { reputationPolicy: 'none' }, false);
    const bad = await call('sesco', 'PUT', { reputationPolicy: 'lenient' });

    // Assess
    expect([own.status, ownPut.status, bad.status]).toEqual([403, 403, 422]);
    expect(bad.body).toMatchObject({ error: { code: 'validation', field: 'reputationPolicy' } });
  });

  it('gives a new SES tenant the stack’s policy (sesReputationPolicy), and leaves an existing one alone', async () => {
    // Prepare: the adapter as a stack with sesReputationPolicy "none" builds it.
    const client = api.domains?.ses.client;
    if (!client) throw new Error('no SES');
    const ses = createSesDomains({
      ses: client,
      arnPrefix: SES_ARN_PREFIX,
      platformIdentity: PLATFORM_DOMAIN,
      reputationPolicy: 'none',
    });

    // Act
    await ses.ensureTenant('tm-relaxedco');
    await ses.setReputationPolicy('tm-relaxedco', 'strict');
    await ses.ensureTenant('tm-relaxedco');
    const existing = await ses.tenantReputation('tm-relaxedco');
    await ses.ensureTenant('tm-relaxedco2');
    const created = await ses.tenantReputation('tm-relaxedco2');

    // Assess
    expect(existing?.reputationPolicy).toBe('strict');
    expect(created?.reputationPolicy).toBe('none');
  });
});
