import { DeleteEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeAlertEmail } from '../../functions/core/alert-email';
import type { AlertMessage } from '../../functions/core/alert-message';
import { type ConfigApiFixture, startConfigApiFixture } from '../support/config-api';

// domain.verified / domain.failed (docs/design.md §18, §20): the refresh whose conditional write records
// the change queues one event, whatever the number of racing refreshes.

let api: ConfigApiFixture;

beforeAll(async () => {
  api = await startConfigApiFixture({ domains: true, domainEvents: true });
});

afterAll(async () => {
  await api?.close();
});

async function as(tenantId: string, method: string, path: string) {
  const token = await api.token(tenantId);
  return api.call(method, `/tenants/${tenantId}${path}`, { token });
}

async function queued(): Promise<AlertMessage[]> {
  const events = api.domainEvents;
  if (!events) throw new Error('the fixture runs without domain events');
  const messages = await events.receiveAll(events.queueUrl);
  return messages.map((m) => JSON.parse(m.Body ?? '{}') as AlertMessage);
}

describe('domain alert events', () => {
  it('queues one domain.verified when SES verified the domain, though five refreshes race to record it', async () => {
    // Prepare
    expect((await as('dvco', 'PUT', '/domains/dvco.example')).status).toBe(201);
    await api.domains?.verify('dvco.example');

    // Act
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => as('dvco', 'GET', '/domains/dvco.example')),
    );
    const later = await as('dvco', 'GET', '/domains/dvco.example');

    // Assess
    expect(answers.map((a) => (a.body as { status: string }).status)).toEqual(Array(5).fill('verified'));
    expect(later.status).toBe(200);
    const messages = await queued();
    expect(messages).toHaveLength(1);
    const event = messages[0]?.kind === 'event' ? messages[0].event : undefined;
    expect(event).toMatchObject({
      type: 'domain.verified',
      tenantId: 'dvco',
      data: { domain: 'dvco.example', status: 'verified', dkim: 'success' },
    });
    if (!event) throw new Error('no event');
    expect(composeAlertEmail(event, 'Mailer').subject).toBe(
      '[Mailer] dvco.example is verified: dvco can send from it',
    );
  });

  it('queues nothing while the domain stays pending', async () => {
    // Act
    expect((await as('dpco', 'PUT', '/domains/dpco.example')).status).toBe(201);
    await as('dpco', 'GET', '/domains/dpco.example');

    // Assess
    expect(await queued()).toEqual([]);
  });

  it('keeps a verified domain verified through an SES temporary failure, and queues nothing', async () => {
    // Prepare
    await verifiedDomain('dtco');

    // Act: SES's DNS lookups fail for now (it retries them for 72 hours)
    await identityAdmin('dtco.example', 'temporary-failure');
    const answer = await as('dtco', 'GET', '/domains/dtco.example');

    // Assess
    expect(answer.body).toMatchObject({ status: 'verified', expiresAt: null });
    expect(await queued()).toEqual([]);
  });

  it('records a verified domain whose SES identity is gone as failed, queues domain.failed, and lets the tenant start again', async () => {
    // Prepare
    await verifiedDomain('dgco');

    // Act: the identity is deleted outside tenant-mailer (the console, another tool)
    await api.domains?.ses.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'dgco.example' }));
    const answer = await as('dgco', 'GET', '/domains/dgco.example');
    const again = await as('dgco', 'PUT', '/domains/dgco.example');

    // Assess
    expect(answer.body).toMatchObject({ status: 'failed' });
    const messages = await queued();
    expect(messages.map((m) => (m.kind === 'event' ? m.event.type : m.kind))).toEqual(['domain.failed']);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: 'pending' });
  });
});

/** The tenant's domain `<tenantId>.example`, claimed, verified and read (its domain.verified drained). */
async function verifiedDomain(tenantId: string) {
  const domain = `${tenantId}.example`;
  expect((await as(tenantId, 'PUT', `/domains/${domain}`)).status).toBe(201);
  await api.domains?.verify(domain);
  expect((await as(tenantId, 'GET', `/domains/${domain}`)).body).toMatchObject({ status: 'verified' });
  await queued();
}

async function identityAdmin(domain: string, action: 'verify' | 'fail' | 'temporary-failure') {
  const url = api.domains?.ses.standIn?.url;
  const response = await fetch(`${url}/_local/identities/${domain}/${action}`, { method: 'POST' });
  expect(response.status).toBe(200);
}
