import {
  AlreadyExistsException,
  CreateEmailIdentityCommand,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteEmailIdentityCommand,
  DeleteTenantCommand,
  DeleteTenantResourceAssociationCommand,
  GetEmailIdentityCommand,
  GetReputationEntityCommand,
  GetTenantCommand,
  ListTenantResourcesCommand,
  NotFoundException,
  PutEmailIdentityMailFromAttributesCommand,
  SendEmailCommand,
  type SendEmailCommandInput,
  UpdateReputationEntityCustomerManagedStatusCommand,
  UpdateReputationEntityPolicyCommand,
} from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSesSender } from '../../functions/adapters/ses-sender';
import { type LocalSes, startLocalSes } from '../support/ses';

let ses: LocalSes;
let n = 0;
/** A name no other test uses: the stand-in keeps its state for the whole file. */
const unique = (prefix: string) => `${prefix}${++n}`;

beforeAll(async () => {
  ses = await startLocalSes({
    standIn: { verifiedIdentities: ['platform.example'], configurationSets: ['mailer-events'] },
  });
});

afterAll(async () => {
  await ses?.close();
});

beforeEach(async () => {
  await ses.clear();
});

/** What a call was refused with (or 'accepted'): calls run one after the other, as a test reads. */
function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'accepted',
    (error: unknown) => error,
  );
}

const admin = (path: string) => fetch(`${ses.standIn?.url}/_local${path}`, { method: 'POST' });

function rawSend(from: string, extra: Partial<SendEmailCommandInput> = {}): SendEmailCommand {
  const raw = `From: ${from}\r\nTo: lead@customer.example\r\nSubject: Hello\r\n\r\nBody\r\n`;
  return new SendEmailCommand({
    FromEmailAddress: from,
    Destination: { ToAddresses: ['lead@customer.example'] },
    Content: { Raw: { Data: Buffer.from(raw) } },
    ...extra,
  });
}

/** A domain identity and a tenant that owns it, both as the project would set them up. */
async function tenantWithDomain(verify: boolean) {
  const domain = `${unique('d')}.example`;
  const tenant = unique('tm-t');
  await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
  const { TenantArn } = await ses.client.send(new CreateTenantCommand({ TenantName: tenant }));
  const identityArn = `arn:aws:ses:us-east-1:000000000000:identity/${domain}`;
  await ses.client.send(
    new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
  );
  if (verify) expect((await admin(`/identities/${domain}/verify`)).status).toBe(200);
  return { domain, tenant, tenantArn: TenantArn ?? '', identityArn };
}

describe('SES v2 stand-in: email identities', () => {
  it('creates a domain identity with Easy DKIM (three tokens), pending until verified, then SUCCESS', async () => {
    // Prepare
    const domain = `${unique('acme')}.example`;

    // Act
    const created = await ses.client.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: domain,
        DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      }),
    );
    await ses.client.send(
      new PutEmailIdentityMailFromAttributesCommand({
        EmailIdentity: domain,
        MailFromDomain: `bounce.${domain}`,
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      }),
    );
    const pending = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    const verified = await admin(`/identities/${domain}/verify`);
    const after = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

    // Assess
    expect(created.IdentityType).toBe('DOMAIN');
    expect(created.VerifiedForSendingStatus).toBe(false);
    expect(created.DkimAttributes?.Tokens).toHaveLength(3);
    for (const token of created.DkimAttributes?.Tokens ?? []) expect(token).toMatch(/^[a-z2-7]{32}$/);
    expect(created.DkimAttributes?.NextSigningKeyLength).toBe('RSA_2048_BIT');
    expect(pending).toMatchObject({
      VerificationStatus: 'PENDING',
      VerifiedForSendingStatus: false,
      DkimAttributes: { Status: 'PENDING', Tokens: created.DkimAttributes?.Tokens },
      MailFromAttributes: {
        MailFromDomain: `bounce.${domain}`,
        MailFromDomainStatus: 'PENDING',
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
    });
    expect(verified.status).toBe(200);
    expect(after).toMatchObject({
      VerificationStatus: 'SUCCESS',
      VerifiedForSendingStatus: true,
      DkimAttributes: { Status: 'SUCCESS' },
      MailFromAttributes: { MailFromDomainStatus: 'SUCCESS' },
    });
  });

  it('refuses a second identity of the same name, and forgets a deleted one', async () => {
    // Prepare
    const domain = `${unique('dup')}.example`;
    await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const again = await refusal(
      ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain.toUpperCase() })),
    );
    await ses.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: domain }));
    const gone = await refusal(ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain })));

    // Assess
    expect(again).toBeInstanceOf(AlreadyExistsException);
    expect(gone).toBeInstanceOf(NotFoundException);
  });

  it('marks an identity failed through the admin route and answers 404 for one that does not exist', async () => {
    // Prepare
    const domain = `${unique('fail')}.example`;
    await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const failed = await admin(`/identities/${domain}/fail`);
    const unknown = await admin('/identities/nobody.example/verify');
    const identity = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

    // Assess
    expect(failed.status).toBe(200);
    expect(identity.VerificationStatus).toBe('FAILED');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ __type: 'NotFoundException' });
  });
});

describe('SES v2 stand-in: tenants', () => {
  it('creates, reads, lists the resources of, and deletes a tenant', async () => {
    // Prepare
    const { tenant, identityArn } = await tenantWithDomain(false);

    // Act
    const got = await ses.client.send(new GetTenantCommand({ TenantName: tenant }));
    const again = await refusal(ses.client.send(new CreateTenantCommand({ TenantName: tenant })));
    const twice = await refusal(
      ses.client.send(
        new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
      ),
    );
    const listed = await ses.client.send(
      new ListTenantResourcesCommand({ TenantName: tenant, Filter: { RESOURCE_TYPE: 'EMAIL_IDENTITY' } }),
    );
    await ses.client.send(
      new DeleteTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
    );
    const afterRemoval = await ses.client.send(new ListTenantResourcesCommand({ TenantName: tenant }));
    await ses.client.send(new DeleteTenantCommand({ TenantName: tenant }));
    const gone = await refusal(ses.client.send(new GetTenantCommand({ TenantName: tenant })));

    // Assess
    expect(got.Tenant).toMatchObject({ TenantName: tenant, SendingStatus: 'ENABLED' });
    expect(got.Tenant?.TenantArn).toMatch(
      new RegExp(`^arn:aws:ses:us-east-1:000000000000:tenant/${tenant}/tn-`),
    );
    expect(got.Tenant?.CreatedTimestamp).toBeInstanceOf(Date);
    expect(again).toBeInstanceOf(AlreadyExistsException);
    expect(twice).toBeInstanceOf(AlreadyExistsException);
    expect(listed.TenantResources).toEqual([{ ResourceType: 'EMAIL_IDENTITY', ResourceArn: identityArn }]);
    expect(afterRemoval.TenantResources).toEqual([]);
    expect(gone).toBeInstanceOf(NotFoundException);
  });

  it('keeps a reputation policy and a customer-managed status per tenant', async () => {
    // Prepare
    const { tenantArn } = await tenantWithDomain(true);
    const ref = { ReputationEntityReference: tenantArn, ReputationEntityType: 'RESOURCE' as const };

    // Act
    const before = await ses.client.send(new GetReputationEntityCommand(ref));
    await ses.client.send(
      new UpdateReputationEntityPolicyCommand({
        ...ref,
        ReputationEntityPolicy: 'arn:aws:ses:us-east-1:aws:reputation-policy/strict',
      }),
    );
    await ses.client.send(
      new UpdateReputationEntityCustomerManagedStatusCommand({ ...ref, SendingStatus: 'DISABLED' }),
    );
    const after = await ses.client.send(new GetReputationEntityCommand(ref));

    // Assess
    expect(before.ReputationEntity).toMatchObject({
      ReputationEntityReference: tenantArn,
      ReputationManagementPolicy: 'arn:aws:ses:us-east-1:aws:reputation-policy/standard',
      SendingStatusAggregate: 'ENABLED',
      ReputationImpact: 'LOW',
    });
    expect(after.ReputationEntity).toMatchObject({
      ReputationManagementPolicy: 'arn:aws:ses:us-east-1:aws:reputation-policy/strict',
      CustomerManagedStatus: { Status: 'DISABLED' },
      AwsSesManagedStatus: { Status: 'ENABLED' },
      SendingStatusAggregate: 'DISABLED',
    });
  });
});

describe('SES v2 stand-in: SendEmail', () => {
  it('forwards a send from a verified identity to the mailbox and records its TenantName', async () => {
    // Prepare
    const { domain, tenant } = await tenantWithDomain(true);

    // Act
    const platform = await ses.client.send(rawSend('Platform <notifications@platform.example>'));
    const own = await ses.client.send(rawSend(`news@${domain}`, { TenantName: tenant }));

    // Assess
    const stored = await ses.store();
    expect(stored.map((e) => e.messageId)).toEqual([platform.MessageId, own.MessageId]);
    expect(ses.standIn?.sends.slice(-2)).toEqual([
      { messageId: platform.MessageId, from: 'Platform <notifications@platform.example>', tags: [] },
      { messageId: own.MessageId, from: `news@${domain}`, tenantName: tenant, tags: [] },
    ]);
  });

  it('refuses a From that no verified identity covers, as SES phrases it, and the sender reads it', async () => {
    // Prepare
    const { domain } = await tenantWithDomain(false);
    const sender = createSesSender({ ses: ses.client });

    // Act
    const refused = await ses.client.send(rawSend(`news@${domain}`)).catch((e: unknown) => e);
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
    expect(await ses.store()).toEqual([]);
  });

  it('refuses a TenantName that does not exist or does not own the identity or the configuration set', async () => {
    // Prepare
    const { domain, tenant } = await tenantWithDomain(true);
    const other = unique('tm-other');
    await ses.client.send(new CreateTenantCommand({ TenantName: other }));

    // Act
    const unknown = await refusal(ses.client.send(rawSend(`a@${domain}`, { TenantName: 'tm-nobody' })));
    const notOwned = await refusal(ses.client.send(rawSend(`a@${domain}`, { TenantName: other })));
    const platformUnowned = await refusal(
      ses.client.send(rawSend('notifications@platform.example', { TenantName: tenant })),
    );
    const setUnowned = await refusal(
      ses.client.send(rawSend(`a@${domain}`, { TenantName: tenant, ConfigurationSetName: 'mailer-events' })),
    );
    const setMissing = await refusal(
      ses.client.send(rawSend(`a@${domain}`, { ConfigurationSetName: 'nope' })),
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
    expect(await ses.store()).toEqual([]);
  });

  it('sends with the configuration set and the platform identity once the tenant owns them', async () => {
    // Prepare
    const { tenant } = await tenantWithDomain(true);
    for (const arn of [
      'arn:aws:ses:us-east-1:000000000000:identity/platform.example',
      'arn:aws:ses:us-east-1:000000000000:configuration-set/mailer-events',
    ]) {
      await ses.client.send(
        new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: arn }),
      );
    }

    // Act
    const sent = await ses.client.send(
      rawSend('notifications@platform.example', {
        TenantName: tenant,
        ConfigurationSetName: 'mailer-events',
      }),
    );

    // Assess
    expect(sent.MessageId).toBeTruthy();
    expect(await ses.store()).toHaveLength(1);
  });

  it('refuses sends of a paused tenant (SendingPausedException) until it is resumed; others keep sending', async () => {
    // Prepare
    const paused = await tenantWithDomain(true);
    const other = await tenantWithDomain(true);

    // Act
    expect((await admin(`/tenants/${paused.tenant}/pause`)).status).toBe(200);
    const refused = await refusal(
      ses.client.send(rawSend(`a@${paused.domain}`, { TenantName: paused.tenant })),
    );
    const status = await ses.client.send(new GetTenantCommand({ TenantName: paused.tenant }));
    const meanwhile = await ses.client.send(rawSend(`a@${other.domain}`, { TenantName: other.tenant }));
    expect((await admin(`/tenants/${paused.tenant}/resume`)).status).toBe(200);
    const resumed = await ses.client.send(rawSend(`a@${paused.domain}`, { TenantName: paused.tenant }));

    // Assess
    expect(refused).toMatchObject({ name: 'SendingPausedException' });
    expect(status.Tenant?.SendingStatus).toBe('DISABLED');
    expect((await ses.store()).map((e) => e.messageId)).toEqual([meanwhile.MessageId, resumed.MessageId]);
  });
});
