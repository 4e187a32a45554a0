import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAlertEmitter } from '../../functions/adapters/alert-emitter';
import { createDomainStore } from '../../functions/adapters/dynamo-domains';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import type { AlertMessage } from '../../functions/core/alert-message';
import type { DomainClaim, DomainStore, SesDomains } from '../../functions/core/ports';
import { sesTenantName } from '../../functions/core/ses-tenant';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { SES_STAND_IN_ACCOUNT } from '../../infra/local/ses-stand-in';
import { type AlertsFixture, startDispatcherAlerts } from '../support/alerts';
import {
  countCommands,
  type DispatcherFixture,
  mail,
  PLATFORM,
  useDispatcherFixture,
} from '../support/dispatcher';

// The domain tier over the SES v2 stand-in (docs/design.md §20): when SES stops accepting a domain it had
// verified, the dispatcher falls back (domain-unverified), records the change on the tenant's claim and
// tells the tenant domain.failed once, however many containers see the refusal.
let f: DispatcherFixture;
let alerts: AlertsFixture;
let alertsQueueUrl: string;
let store: DomainStore;
let ses: SesDomains;

useDispatcherFixture(
  (started) => {
    f = started;
  },
  { maxAttempts: 3, sesTenants: true },
);

beforeAll(async () => {
  ({ alerts, queueUrl: alertsQueueUrl } = await startDispatcherAlerts(f, 'dispatcher-domains'));
  store = createDomainStore({ doc: f.dynamo.doc, tableName: f.dynamo.tableName });
  ses = createSesDomains({
    ses: f.ses.client,
    arnPrefix: `arn:aws:ses:us-east-1:${SES_STAND_IN_ACCOUNT}:`,
    platformIdentity: PLATFORM.address.split('@')[1] ?? '',
  });
});

const identityAdmin = async (domain: string, action: 'verify' | 'fail') => {
  const response = await fetch(`${f.ses.standIn?.url}/_local/identities/${domain}/${action}`, {
    method: 'POST',
  });
  expect(response.status).toBe(200);
};

/** A tenant in domain mode whose domain SES verified and whose claim says so, as the config API leaves it. */
async function verifiedDomainTenant(tenantId: string, domain: string): Promise<DomainClaim> {
  await ses.ensureTenant(sesTenantName(tenantId));
  const identity = await ses.createIdentity(domain, sesTenantName(tenantId));
  await identityAdmin(domain, 'verify');
  const now = new Date(f.clock.now()).toISOString();
  const claim: DomainClaim = {
    name: domain,
    tenantId,
    status: 'verified',
    dkim: 'success',
    mailFrom: 'success',
    dkimTokens: identity.dkimTokens,
    createdAt: now,
    expiresAt: now,
    verifiedAt: now,
  };
  expect(await store.putClaim(claim)).toBe(true);
  await store.addName(tenantId, domain);
  await f.domainTenant(tenantId, domain);
  return claim;
}

/** A dispatcher container that records refused domains and emits onto the real alerts queue. */
function container(withDomains = true): DispatchHandler {
  const emitter = createAlertEmitter({
    sqs: f.sqs.client,
    queueUrl: alertsQueueUrl,
    store: alerts.store,
    clock: f.clock,
    logger: new Logger({ serviceName: 'domains-test', logLevel: 'ERROR' }),
  });
  return f.newContainer({
    alerts: emitter,
    ...(withDomains && { domains: { store, ses, alerts: emitter } }),
  });
}

async function queuedEvents(): Promise<AlertMessage[]> {
  const messages = await f.sqs.receiveAll(alertsQueueUrl);
  return messages.map((m) => JSON.parse(m.Body ?? '{}') as AlertMessage);
}

async function sendOne(handler: DispatchHandler, tenantId: string, key: string) {
  const records = await f.receive([mail(tenantId, { idempotencyKey: key })]);
  const response = await f.invoke(records, { handler });
  expect(response.batchItemFailures).toEqual([]);
  return (await f.deliveries(tenantId)).find((d) => d.messageId === key);
}

describe('dispatcher: a domain SES stops accepting', () => {
  it('falls back, records the claim as failed and tells domain.failed once across two containers', async () => {
    // Prepare
    await verifiedDomainTenant('lapsedco', 'lapsedco.example');
    const first = container();
    const second = container();
    const before = await sendOne(first, 'lapsedco', 'lapsed-0');
    await identityAdmin('lapsedco.example', 'fail');

    // Act
    const refusedFirst = await sendOne(first, 'lapsedco', 'lapsed-1');
    const refusedSecond = await sendOne(second, 'lapsedco', 'lapsed-2');
    const remembered = await sendOne(first, 'lapsedco', 'lapsed-3');

    // Assess
    expect(before).toMatchObject({ status: 'sent', route: 'domain' });
    for (const d of [refusedFirst, refusedSecond, remembered]) {
      expect(d).toMatchObject({ status: 'sent', route: 'platform', fallbackReason: 'domain-unverified' });
    }
    expect(await store.getClaim('lapsedco.example')).toMatchObject({
      tenantId: 'lapsedco',
      status: 'failed',
      dkim: 'failed',
    });
    const events = (await queuedEvents()).flatMap((m) => (m.kind === 'event' ? [m.event] : []));
    expect(events.filter((e) => e.tenantId === 'lapsedco')).toEqual([
      expect.objectContaining({
        type: 'domain.failed',
        data: expect.objectContaining({ domain: 'lapsedco.example', status: 'failed' }),
      }),
    ]);
    // The container remembered the refusal: its later message went straight to the platform.
    const froms = f.sesRequests.filter((r) => r.TenantName === 'tm-lapsedco').map((r) => r.FromEmailAddress);
    expect(froms.filter((from) => from === 'hello@lapsedco.example')).toHaveLength(3);
  });

  it('reads the refused domain once for a whole batch of its messages in one container', async () => {
    // Prepare
    await verifiedDomainTenant('batchco', 'batchco.example');
    await identityAdmin('batchco.example', 'fail');
    const handler = container();
    const counts = countCommands(f.ses.client as never);
    const records = await f.receive(
      ['b-1', 'b-2', 'b-3'].map((key) => mail('batchco', { idempotencyKey: key })),
    );

    // Act
    const response = await f.invoke(records, { handler });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const log = await f.deliveries('batchco');
    expect(log).toHaveLength(3);
    for (const d of log) expect(d).toMatchObject({ route: 'platform', fallbackReason: 'domain-unverified' });
    expect(counts.GetEmailIdentityCommand).toBe(1);
    expect(await store.getClaim('batchco.example')).toMatchObject({ status: 'failed' });
  });

  it('leaves the claim as it was when the dispatcher runs without the domain adapters', async () => {
    // Prepare
    await verifiedDomainTenant('plainco', 'plainco.example');
    await identityAdmin('plainco.example', 'fail');

    // Act
    const d = await sendOne(container(false), 'plainco', 'plain-1');

    // Assess
    expect(d).toMatchObject({ status: 'sent', route: 'platform', fallbackReason: 'domain-unverified' });
    expect(await store.getClaim('plainco.example')).toMatchObject({ status: 'verified' });
  });
});
