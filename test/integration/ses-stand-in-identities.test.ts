import {
  AlreadyExistsException,
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  NotFoundException,
  PutEmailIdentityMailFromAttributesCommand,
} from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { refusal, standInAdmin, unique, useSesStandIn } from '../support/ses-stand-in';

const fixture = useSesStandIn();

describe('SES v2 stand-in: email identities', () => {
  it('creates a domain identity with Easy DKIM (three tokens), pending until verified, then SUCCESS', async () => {
    // Prepare
    const domain = `${unique('acme')}.example`;

    // Act
    const created = await fixture.ses.client.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: domain,
        DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      }),
    );
    await fixture.ses.client.send(
      new PutEmailIdentityMailFromAttributesCommand({
        EmailIdentity: domain,
        MailFromDomain: `bounce.${domain}`,
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      }),
    );
    const pending = await fixture.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
    const verified = await standInAdmin(fixture.ses, `/identities/${domain}/verify`);
    const after = await fixture.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

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
    await fixture.ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const again = await refusal(
      fixture.ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain.toUpperCase() })),
    );
    await fixture.ses.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: domain }));
    const gone = await refusal(
      fixture.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain })),
    );

    // Assess
    expect(again).toBeInstanceOf(AlreadyExistsException);
    expect(gone).toBeInstanceOf(NotFoundException);
  });

  it('marks an identity failed through the admin route and answers 404 for one that does not exist', async () => {
    // Prepare
    const domain = `${unique('fail')}.example`;
    await fixture.ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const failed = await standInAdmin(fixture.ses, `/identities/${domain}/fail`);
    const unknown = await standInAdmin(fixture.ses, '/identities/nobody.example/verify');
    const identity = await fixture.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

    // Assess
    expect(failed.status).toBe(200);
    expect(identity.VerificationStatus).toBe('FAILED');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ __type: 'NotFoundException' });
  });

  it('marks an identity as in a temporary failure (DKIM and MAIL FROM too) through the admin route', async () => {
    // Prepare
    const domain = `${unique('temporary')}.example`;
    await fixture.ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

    // Act
    const answer = await standInAdmin(fixture.ses, `/identities/${domain}/temporary-failure`);
    const identity = await fixture.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

    // Assess
    expect(answer.status).toBe(200);
    expect(identity).toMatchObject({
      VerificationStatus: 'TEMPORARY_FAILURE',
      VerifiedForSendingStatus: false,
      DkimAttributes: { Status: 'TEMPORARY_FAILURE' },
    });
  });
});
