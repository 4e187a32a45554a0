import {
  AlreadyExistsException,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteTenantCommand,
  DeleteTenantResourceAssociationCommand,
  GetReputationEntityCommand,
  GetTenantCommand,
  ListTenantResourcesCommand,
  NotFoundException,
  UpdateReputationEntityCustomerManagedStatusCommand,
  UpdateReputationEntityPolicyCommand,
} from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { refusal, tenantWithDomain, useSesStandIn } from '../support/ses-stand-in';

const fixture = useSesStandIn();

describe('SES v2 stand-in: tenants', () => {
  it('creates, reads, lists the resources of, and deletes a tenant', async () => {
    // Prepare
    const { tenant, identityArn } = await tenantWithDomain(fixture.ses, false);

    // Act
    const got = await fixture.ses.client.send(new GetTenantCommand({ TenantName: tenant }));
    const again = await refusal(fixture.ses.client.send(new CreateTenantCommand({ TenantName: tenant })));
    const twice = await refusal(
      fixture.ses.client.send(
        new CreateTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
      ),
    );
    const listed = await fixture.ses.client.send(
      new ListTenantResourcesCommand({ TenantName: tenant, Filter: { RESOURCE_TYPE: 'EMAIL_IDENTITY' } }),
    );
    await fixture.ses.client.send(
      new DeleteTenantResourceAssociationCommand({ TenantName: tenant, ResourceArn: identityArn }),
    );
    const afterRemoval = await fixture.ses.client.send(
      new ListTenantResourcesCommand({ TenantName: tenant }),
    );
    await fixture.ses.client.send(new DeleteTenantCommand({ TenantName: tenant }));
    const gone = await refusal(fixture.ses.client.send(new GetTenantCommand({ TenantName: tenant })));

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
    const { tenantArn } = await tenantWithDomain(fixture.ses, true);
    const ref = { ReputationEntityReference: tenantArn, ReputationEntityType: 'RESOURCE' as const };

    // Act
    const before = await fixture.ses.client.send(new GetReputationEntityCommand(ref));
    await fixture.ses.client.send(
      new UpdateReputationEntityPolicyCommand({
        ...ref,
        ReputationEntityPolicy: 'arn:aws:ses:us-east-1:aws:reputation-policy/strict',
      }),
    );
    await fixture.ses.client.send(
      new UpdateReputationEntityCustomerManagedStatusCommand({ ...ref, SendingStatus: 'DISABLED' }),
    );
    const after = await fixture.ses.client.send(new GetReputationEntityCommand(ref));

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
