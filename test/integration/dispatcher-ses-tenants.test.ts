import { afterEach, describe, expect, it } from 'vitest';
import { createAlertAdapters } from '../../functions/adapters/alert-wiring';
import { createDomainStore } from '../../functions/adapters/dynamo-domains';
import { createSesDomains } from '../../functions/adapters/ses-domains';
import { withSesTenants } from '../../functions/adapters/ses-tenant-sender';
import { SES_STAND_IN_ACCOUNT } from '../../infra/local/ses-stand-in';
import { type DispatcherFixture, mail, PLATFORM, useDispatcherFixture } from '../support/dispatcher';

// The dispatcher over the SES v2 stand-in: every send in the tenant's SES tenant (docs/design.md §20).
let f: DispatcherFixture;
useDispatcherFixture(
  (started) => {
    f = started;
  },
  { maxAttempts: 3, sesTenants: true },
);

const admin = (path: string) => fetch(`${f.ses.standIn?.url}/_local${path}`, { method: 'POST' });

afterEach(async () => {
  await admin('/tenants/tm-pausedco/resume').catch(() => undefined);
});

describe('dispatcher: SES tenants', () => {
  it('sends each tenant’s platform mail with its own TenantName', async () => {
    // Prepare
    const records = await f.receive([mail('alphaco'), mail('betaco')]);

    // Act
    const result = await f.invoke(records);

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(f.sesRequests.map((r) => r.TenantName).sort()).toEqual(['tm-alphaco', 'tm-betaco']);
    expect(await f.ses.store()).toHaveLength(2);
  });

  it('holds a paused tenant’s mail (ses-paused, not an attempt), sends it once SES resumes the tenant', async () => {
    // Prepare: the SES tenant exists (a first send), then SES pauses it
    const [warmUp] = await f.receive([mail('pausedco')]);
    if (!warmUp) throw new Error('no record');
    await f.invoke([warmUp]);
    expect((await admin('/tenants/tm-pausedco/pause')).status).toBe(200);
    const [record] = await f.receive([mail('pausedco', { idempotencyKey: 'paused-1' })]);
    if (!record) throw new Error('no record');

    // Act
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await f.invoke([record], { keep: true }));
    const whileHeld = (await f.deliveries('pausedco')).find((d) => d.messageId === 'paused-1');
    await admin('/tenants/tm-pausedco/resume');
    const resumed = await f.invoke([record]);
    const after = (await f.deliveries('pausedco')).find((d) => d.messageId === 'paused-1');

    // Assess
    for (const r of held) expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(whileHeld).toMatchObject({ status: 'held', fallbackReason: 'ses-paused', heldAttempts: 4 });
    expect(await f.dlqMessages()).toEqual([]);
    expect(resumed.batchItemFailures).toEqual([]);
    expect(after).toMatchObject({ status: 'sent', route: 'platform' });
  });

  it('sends an alert email about a tenant through that tenant’s SES tenant, made on first need', async () => {
    // Prepare: the notifier's adapters as the wiring builds them with the stack's SES account named.
    const { delivery } = createAlertAdapters({
      doc: f.dynamo.doc,
      tableName: f.dynamo.tableName,
      kms: f.kms.client,
      keyId: f.kms.keyId,
      ses: f.ses.client,
      configurationSet: undefined,
      allowPrivate: true,
      clock: f.clock,
      platform: PLATFORM,
      tenantSes: (inner) =>
        withSesTenants({
          inner,
          store: createDomainStore({ doc: f.dynamo.doc, tableName: f.dynamo.tableName }),
          ses: createSesDomains({
            ses: f.ses.client,
            arnPrefix: `arn:aws:ses:us-east-1:${SES_STAND_IN_ACCOUNT}:`,
            platformIdentity: PLATFORM.address.split('@')[1] ?? '',
          }),
          clock: f.clock,
        }),
    });
    const event = {
      id: 'evt_alertco000000000001',
      type: 'test' as const,
      tenantId: 'alertco',
      createdAt: new Date(f.clock.now()).toISOString(),
      data: {},
    };

    // Act
    const result = await delivery.email(['ops@alertco.example'], event);

    // Assess: the stand-in refuses a TenantName whose resources are not associated, as SES does.
    expect(result).toMatchObject({ channel: 'email', ok: true });
    expect(f.sesRequests.map((r) => r.TenantName)).toEqual(['tm-alertco']);
  });
});
