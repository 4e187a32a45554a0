import {
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  GetTenantCommand,
  NotFoundException,
} from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { createSesSender } from '../../functions/adapters/ses-sender';
import {
  rawSend,
  refusal,
  standInAdmin,
  tenantWithDomain,
  unique,
  useSesStandIn,
} from '../support/ses-stand-in';

const fixture = useSesStandIn();

describe('SES v2 stand-in: SendEmail', () => {
  it('forwards a send from a verified identity to the mailbox and records its TenantName', async () => {
    // Prepare
    const { domain, tenant } = await tenantWithDomain(fixture.ses, true);

    // Act
    const platform = await fixture.ses.client.send(rawSend('Platform <notifications@platform.example>'));
    const own = await fixture.ses.client.send(rawSend(`news@${domain}`, { TenantName: tenant }));

    // Assess
    const stored = await fixture.ses.store();
    expect(stored.map((e) => e.messageId)).toEqual([platform.MessageId, own.MessageId]);
    expect(fixture.ses.standIn?.sends.slice(-2)).toEqual([
      { messageId: platform.MessageId, from: 'Platform <notifications@platform.example>', tags: [] },
      { messageId: own.MessageId, from: `news@${domain}`, tenantName: tenant, tags: [] },
    ]);
  });

  it('refuses a From that no verified identity covers, as SES phrases it, and the sender reads it', async () => {
    // Prepare
    const { domain } = await tenantWithDomain(fixture.ses, false);
    const sender = createSesSender({ ses: fixture.ses.client });

    // Act
    const refused = await fixture.ses.client.send(rawSend(`news@${domain}`)).catch((e: unknown) => e);
    const translated = await sender.send({
      from: `news@${domain}`,
      raw: Buffer.from('x'),
      destinations: { to: ['a@b.example'] },
      tags: [],
    });

    // Assess
    expect(refused).toMatchObject({
      name: 'MessageRejected',
      message: `Email address is not verified. The following identities failed the check in region US-EAST-1: news@${domain}`,
    });
    expect(translated).toMatchObject({
      ok: false,
      error: { code: 'MessageRejected', unverified: [`news@${domain}`] },
    });
    expect(await fixture.ses.store()).toEqual([]);
  });

  it('refuses a TenantName that does not exist or does not own the identity or the configuration set', async () => {
    // Prepare
    const { domain, tenant } = await tenantWithDomain(fixture.ses, true);
    const other = unique('tm-other');
    await fixture.ses.client.send(new CreateTenantCommand({ TenantName: other }));

    // Act
    const unknown = await refusal(
      fixture.ses.client.send(rawSend(`a@${domain}`, { TenantName: 'tm-nobody' })),
    );
    const notOwned = await refusal(fixture.ses.client.send(rawSend(`a@${domain}`, { TenantName: other })));
    const platformUnowned = await refusal(
      fixture.ses.client.send(rawSend('notifications@platform.example', { TenantName: tenant })),
    );
    const setUnowned = await refusal(
      fixture.ses.client.send(
        rawSend(`a@${domain}`, { TenantName: tenant, ConfigurationSetName: 'mailer-events' }),
      ),
    );
    const setMissing = await refusal(
      fixture.ses.client.send(rawSend(`a@${domain}`, { ConfigurationSetName: 'nope' })),
    );

    // Assess
    expect(unknown).toBeInstanceOf(NotFoundException);
    expect(notOwned).toMatchObject({ name: 'BadRequestException' });
    expect(platformUnowned).toMatchObject({
      name: 'BadRequestException',
      message: `Identity platform.example is not associated with tenant ${tenant}.`,
    });
    expect(setUnowned).toMatchObject({ name: 'BadRequestException' });
    expect(setMissing).toBeInstanceOf(NotFoundException);
    expect(await fixture.ses.store()).toEqual([]);
  });

  it('sends with the configuration set and the platform identity once the tenant owns them', async () => {
    // Prepare
    const { tenant } = await tenantWithDomain(fixture.ses, true);
    for (const arn of [
      'arn:aws:ses:us-east-1:000000000000:identity/platform.example',
      'arn:aws:ses:us-east-1:000000000000:configuration-set/mailer-events',
    ]) {
      await fixture.ses.client.send(
        new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: arn }),
      );
    }

    // Act
    const sent = await fixture.ses.client.send(
      rawSend('notifications@platform.example', {
        TenantName: tenant,
        ConfigurationSetName: 'mailer-events',
      }),
    );

    // Assess
    expect(sent.MessageId).toBeTruthy();
    expect(await fixture.ses.store()).toHaveLength(1);
  });

  it('refuses sends of a paused tenant (SendingPausedException) until it is resumed; others keep sending', async () => {
    // Prepare
    const paused = await tenantWithDomain(fixture.ses, true);
    const other = await tenantWithDomain(fixture.ses, true);

    // Act
    expect((await standInAdmin(fixture.ses, `/tenants/${paused.tenant}/pause`)).status).toBe(200);
    const refused = await refusal(
      fixture.ses.client.send(rawSend(`a@${paused.domain}`, { TenantName: paused.tenant })),
    );
    const status = await fixture.ses.client.send(new GetTenantCommand({ TenantName: paused.tenant }));
    const meanwhile = await fixture.ses.client.send(
      rawSend(`a@${other.domain}`, { TenantName: other.tenant }),
    );
    expect((await standInAdmin(fixture.ses, `/tenants/${paused.tenant}/resume`)).status).toBe(200);
    const resumed = await fixture.ses.client.send(
      rawSend(`a@${paused.domain}`, { TenantName: paused.tenant }),
    );

    // Assess
    expect(refused).toMatchObject({ name: 'SendingPausedException' });
    expect(status.Tenant?.SendingStatus).toBe('DISABLED');
    expect((await fixture.ses.store()).map((e) => e.messageId)).toEqual([
      meanwhile.MessageId,
      resumed.MessageId,
    ]);
  });
});
