import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
  ListTenantResourcesCommand,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainView } from '../../functions/config-api/domain-schemas';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';
import { countCommands } from '../support/sdk';

let api: ConfigApiFixture;
let n = 0;
/** A tenant (and domain) no other test uses: the fixture is shared by the file. */
const unique = (prefix: string) => `${prefix}${++n}`;
const START = Date.UTC(2030, 0, 1);

beforeAll(async () => {
  api = await startConfigApiFixture({ domains: true });
});

afterAll(async () => {
  const violations = api.contractViolations();
  await api?.close();
  expect(violations).toEqual([]);
});

const ses = () => {
  if (!api.domains) throw new Error('the fixture runs without domains');
  return api.domains;
};

async function as(tenantId: string, method: string, path: string) {
  const token = await api.token(tenantId);
  return api.call(method, `/tenants/${tenantId}${path}`, { token });
}

describe('PUT /tenants/{id}/domains/{domain}', () => {
  it('claims a domain: SES identity with three DKIM tokens, MAIL FROM records, pending for 72 h', async () => {
    // Prepare
    api.clock.set(START);
    const tenant = unique('acme');
    const domain = `${tenant}.example`;

    // Act
    const put = await as(tenant, 'PUT', `/domains/${domain}`);
    const again = await as(tenant, 'PUT', `/domains/${domain}`);

    // Assess
    expect(put.status).toBe(201);
    const view = put.body as DomainView;
    expect(view).toMatchObject({
      domain,
      status: 'pending',
      dkim: 'pending',
      mailFrom: 'pending',
      verifiedAt: null,
    });
    expect(Date.parse(view.expiresAt ?? '') - Date.parse(view.createdAt)).toBe(72 * 3600_000);
    const dkim = view.dnsRecords.filter((r) => r.purpose === 'dkim');
    expect(dkim).toHaveLength(3);
    for (const record of dkim) {
      const token = record.name.split('.')[0];
      expect(record).toEqual({
        type: 'CNAME',
        name: `${token}._domainkey.${domain}`,
        value: `${token}.dkim.amazonses.com`,
        purpose: 'dkim',
      });
    }
    expect(view.dnsRecords.slice(3)).toEqual([
      {
        type: 'MX',
        name: `bounce.${domain}`,
        value: '10 feedback-smtp.us-east-1.amazonses.com',
        purpose: 'mail-from',
      },
      {
        type: 'TXT',
        name: `bounce.${domain}`,
        value: '"v=spf1 include:amazonses.com ~all"',
        purpose: 'mail-from',
      },
      {
        type: 'TXT',
        name: `_dmarc.${domain}`,
        value: '"v=DMARC1; p=none;"',
        purpose: 'dmarc',
        optional: true,
      },
    ]);
    expect(again.status).toBe(200);
    expect((again.body as DomainView).dnsRecords).toEqual(view.dnsRecords);
    const identity = await ses().ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    expect(identity.DkimAttributes?.Tokens).toEqual(dkim.map((r) => r.name.split('.')[0]));
    expect(identity.MailFromAttributes).toMatchObject({
      MailFromDomain: `bounce.${domain}`,
      BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
    });
  });

  it('is verified once DNS proves it: GET refreshes from SES and records it; the list shows it', async () => {
    // Prepare
    api.clock.set(START);
    const tenant = unique('initech');
    const domain = `${tenant}.example`;
    await as(tenant, 'PUT', `/domains/${domain}`);

    // Act
    await ses().verify(domain);
    const got = await as(tenant, 'GET', `/domains/${domain}`);
    const list = await as(tenant, 'GET', '/domains');

    // Assess
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      status: 'verified',
      dkim: 'success',
      mailFrom: 'success',
      expiresAt: null,
    });
    expect((got.body as DomainView).verifiedAt).toMatch(/^2030-01-01T/);
    expect(list.body).toEqual({ items: [got.body] });
  });

  it.each([
    ['acme.example.', 'trailing dot'],
    ['192.0.2.1', 'IP literal'],
    ['platform.example', "the platform's domain"],
    ['mail.platform.example', "a name under the platform's domain"],
    ['co.uk', 'a public suffix'],
  ])('refuses %s (%s) with 422 validation', async (domain) => {
    // Act
    const put = await as(unique('refused'), 'PUT', `/domains/${encodeURIComponent(domain)}`);

    // Assess
    expect(put.status).toBe(422);
    expect(put.body).toMatchObject({ error: { code: 'validation', field: 'domain' } });
  });

  it('stores a name lower case and an IDN as punycode', async () => {
    // Prepare
    const tenant = unique('buecher');

    // Act
    const put = await as(tenant, 'PUT', `/domains/${encodeURIComponent(`BÜCHER-${tenant}.Example`)}`);

    // Assess
    expect(put.status).toBe(201);
    expect((put.body as DomainView).domain).toMatch(/^xn--bcher-.*\.example$/);
  });
});

describe('one domain, two tenants', () => {
  it('lets exactly one of two racing claims win; the other gets 409 domain-pending', async () => {
    // Prepare
    api.clock.set(START);
    const [a, b] = [unique('race'), unique('race')];
    const domain = `${a}-contested.example`;

    // Act
    const answers = await Promise.all([
      as(a, 'PUT', `/domains/${domain}`),
      as(b, 'PUT', `/domains/${domain}`),
    ]);

    // Assess
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = answers.find((r) => r.status === 409);
    expect(loser?.body).toMatchObject({ error: { code: 'domain-pending', field: 'domain' } });
  });

  it('holds a pending name 72 h, hands it over after, and keeps a verified one with its tenant', async () => {
    // Prepare
    api.clock.set(START);
    const [first, second, third] = [unique('hold'), unique('hold'), unique('hold')];
    const domain = `${first}.example`;
    const claimed = await as(first, 'PUT', `/domains/${domain}`);

    // Act
    const whilePending = await as(second, 'PUT', `/domains/${domain}`);
    api.clock.set(START + 73 * 3600_000);
    const expired = await as(first, 'GET', `/domains/${domain}`);
    const takeover = await as(second, 'PUT', `/domains/${domain}`);
    const formerOwner = await as(first, 'GET', `/domains/${domain}`);
    const formerList = await as(first, 'GET', '/domains');
    await ses().verify(domain);
    await as(second, 'GET', `/domains/${domain}`);
    const afterVerified = await as(third, 'PUT', `/domains/${domain}`);

    // Assess
    expect(claimed.status).toBe(201);
    expect(whilePending).toMatchObject({ status: 409, body: { error: { code: 'domain-pending' } } });
    expect(expired.body).toMatchObject({ status: 'expired' });
    expect(takeover.status).toBe(201);
    expect((takeover.body as DomainView).dnsRecords[0]).not.toEqual(
      (claimed.body as DomainView).dnsRecords[0],
    );
    expect(formerOwner.status).toBe(404);
    expect(formerList.body).toEqual({ items: [] });
    expect(afterVerified).toMatchObject({ status: 409, body: { error: { code: 'domain-taken' } } });
  });

  it('refuses a domain whose SES identity exists outside tenant-mailer, and leaves no claim', async () => {
    // Prepare
    const tenant = unique('outside');
    const domain = `${tenant}.example`;
    await ses().ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const put = await as(tenant, 'PUT', `/domains/${domain}`);
    const got = await as(tenant, 'GET', `/domains/${domain}`);

    // Assess
    expect(put).toMatchObject({ status: 409, body: { error: { code: 'domain-taken' } } });
    expect(got.status).toBe(404);
  });

  it('frees a deleted domain: SES identity gone, claim gone, another tenant may claim it', async () => {
    // Prepare
    api.clock.set(START);
    const [owner, next] = [unique('del'), unique('del')];
    const domain = `${owner}.example`;
    await as(owner, 'PUT', `/domains/${domain}`);

    // Act
    const deleted = await as(owner, 'DELETE', `/domains/${domain}`);
    const identity = await ses()
      .ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))
      .catch((e: Error) => e.name);
    const got = await as(owner, 'GET', `/domains/${domain}`);
    const claimed = await as(next, 'PUT', `/domains/${domain}`);
    const deleteOthers = await as(owner, 'DELETE', `/domains/${domain}`);

    // Assess
    expect(deleted.status).toBe(204);
    expect(identity).toBe('NotFoundException');
    expect(got.status).toBe(404);
    expect(claimed.status).toBe(201);
    expect(deleteOthers.status).toBe(404);
  });
});

describe('the SES tenant of a tenant', () => {
  it('is tm-<tenantId>, made once with the platform identity and the configuration set; the domain joins it', async () => {
    // Prepare
    const tenant = unique('sest');
    const counts = countCommands(ses().ses.client as unknown as Parameters<typeof countCommands>[0]);

    // Act
    await as(tenant, 'PUT', `/domains/${tenant}-one.example`);
    await as(tenant, 'PUT', `/domains/${tenant}-two.example`);
    const got = await ses().ses.client.send(new GetTenantCommand({ TenantName: `tm-${tenant}` }));
    const resources = await ses().ses.client.send(
      new ListTenantResourcesCommand({ TenantName: `tm-${tenant}` }),
    );

    // Assess
    expect(got.Tenant?.SendingStatus).toBe('ENABLED');
    expect(counts.CreateTenantCommand).toBe(1);
    expect(resources.TenantResources?.map((r) => r.ResourceArn).sort()).toEqual(
      [
        'arn:aws:ses:us-east-1:000000000000:configuration-set/tenant-mailer-test',
        'arn:aws:ses:us-east-1:000000000000:identity/platform.example',
        `arn:aws:ses:us-east-1:000000000000:identity/${tenant}-one.example`,
        `arn:aws:ses:us-east-1:000000000000:identity/${tenant}-two.example`,
      ].sort(),
    );
  });
});

describe('PUT /tenants/{id}/sender in domain mode', () => {
  const domainMode = (domain: string) => ({
    mode: 'domain',
    domain: { name: domain, fromAddress: `news@${domain}`, fromName: 'News' },
  });

  it('needs the tenant’s verified domain: 422 domain-unverified before, 200 once DNS proved it', async () => {
    // Prepare
    api.clock.set(START);
    const [tenant, other] = [unique('mode'), unique('mode')];
    const domain = `${tenant}.example`;
    const token = await api.token(tenant);
    const put = () => api.call('PUT', `/tenants/${tenant}/sender`, { token, body: domainMode(domain) });

    // Act
    const unclaimed = await put();
    await as(tenant, 'PUT', `/domains/${domain}`);
    const pending = await put();
    await ses().verify(domain);
    const verified = await put();
    const othersDomain = await api.call('PUT', `/tenants/${other}/sender`, {
      token: await api.token(other),
      body: domainMode(domain),
    });

    // Assess
    for (const refused of [unclaimed, pending, othersDomain]) {
      expect(refused).toMatchObject({
        status: 422,
        body: { error: { code: 'domain-unverified', field: 'domain.name' } },
      });
    }
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ mode: 'domain', domain: { name: domain } });
  });
});
