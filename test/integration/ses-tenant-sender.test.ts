import { GetTenantCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainStore } from '../../functions/adapters/dynamo-domains';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { withSesTenants } from '../../functions/adapters/ses-tenant-sender';
import { systemClock } from '../../functions/core/types';
import { CONFIGURATION_SET, PLATFORM_DOMAIN, SES_ARN_PREFIX } from '../support/domains';
import { type DynamoFixture, startDynamo } from '../support/dynamo';
import { countCommands } from '../support/sdk';
import { type LocalSes, startLocalSes } from '../support/ses';

let dynamo: DynamoFixture;
let ses: LocalSes;

beforeAll(async () => {
  [dynamo, ses] = await Promise.all([
    startDynamo(),
    startLocalSes({
      standIn: { verifiedIdentities: [PLATFORM_DOMAIN], configurationSets: [CONFIGURATION_SET] },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), ses?.close()]);
});

/** A dispatcher-side sender over the stand-in: a fresh container each call (its own memory). */
function container() {
  const counts = countCommands(ses.client as unknown as Parameters<typeof countCommands>[0]);
  const sender = withSesTenants({
    inner: createSesSender({ ses: ses.client, configurationSet: CONFIGURATION_SET }),
    store: createDomainStore({ doc: dynamo.doc, tableName: dynamo.tableName }),
    ses: createSesDomains({
      ses: ses.client,
      arnPrefix: SES_ARN_PREFIX,
      platformIdentity: PLATFORM_DOMAIN,
      configurationSet: CONFIGURATION_SET,
    }),
    clock: systemClock,
  });
  return { sender, counts };
}

const mail = (tenantId: string) => ({
  from: `notifications@${PLATFORM_DOMAIN}`,
  raw: Buffer.from(`From: notifications@${PLATFORM_DOMAIN}\r\nSubject: hi\r\n\r\nbody\r\n`),
  destinations: { to: ['someone@customer.example'] },
  tags: [
    { Name: 'tenantId', Value: tenantId },
    { Name: 'route', Value: 'platform' },
  ],
});

describe('every SES send goes through the tenant’s SES tenant', () => {
  it('sends with TenantName tm-<tenantId>, making the SES tenant once, however many sends and containers', async () => {
    // Prepare
    const first = container();
    const second = container();

    // Act
    const results = [
      await first.sender.send(mail('acme')),
      await first.sender.send(mail('acme')),
      await first.sender.send(mail('globex')),
      await second.sender.send(mail('acme')),
    ];
    const tenant = await ses.client.send(new GetTenantCommand({ TenantName: 'tm-acme' }));

    // Assess
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true]);
    expect(ses.standIn?.sends.map((s) => s.tenantName)).toEqual([
      'tm-acme',
      'tm-acme',
      'tm-globex',
      'tm-acme',
    ]);
    expect(tenant.Tenant?.SendingStatus).toBe('ENABLED');
    // One CreateTenant per tenant over both containers (the client is shared, so is the count): the
    // marker spares the second container the SES calls for acme.
    expect(first.counts.CreateTenantCommand).toBe(2);
  });

  it('answers SES’s refusal of a paused tenant as data, and sends again once it is resumed', async () => {
    // Prepare
    const { sender } = container();
    await sender.send(mail('paused'));
    await fetch(`${ses.standIn?.url}/_local/tenants/tm-paused/pause`, { method: 'POST' });

    // Act
    const refused = await sender.send(mail('paused'));
    await fetch(`${ses.standIn?.url}/_local/tenants/tm-paused/resume`, { method: 'POST' });
    const resumed = await sender.send(mail('paused'));

    // Assess
    expect(refused).toMatchObject({ ok: false, error: { code: 'SendingPausedException' } });
    expect(resumed.ok).toBe(true);
  });
});
