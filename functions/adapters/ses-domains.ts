import {
  CreateEmailIdentityCommand,
  type CreateEmailIdentityCommandOutput,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  type GetEmailIdentityCommandOutput,
  GetReputationEntityCommand,
  GetTenantCommand,
  PutEmailIdentityMailFromAttributesCommand,
  type SESv2Client,
  UpdateReputationEntityPolicyCommand,
} from '@aws-sdk/client-sesv2';
import { IdentityExistsError } from '../core/errors';
import {
  type CheckStatus,
  type DomainIdentity,
  MAIL_FROM_LABEL,
  REPUTATION_POLICIES,
  type ReputationPolicy,
  type SesDomains,
} from '../core/ports';

/**
 * SES identities and tenants for custom domains (contract, "Domains" and "SES tenants"): a domain
 * identity with Easy DKIM (RSA 2048) and MAIL FROM `bounce.<domain>`, associated with the tenant's SES
 * tenant; the SES tenant itself with the platform identity and the configuration set associated.
 */

export interface SesDomainsOptions {
  ses: SESv2Client;
  /** `arn:aws:ses:<region>:<account>:`, the prefix of the account's identity and configuration set ARNs. */
  arnPrefix: string;
  /** The platform's verified identity (its domain), shared by every SES tenant. */
  platformIdentity: string;
  configurationSet?: string;
  /** The policy a tenant this adapter creates gets (stack prop sesReputationPolicy; default standard). */
  reputationPolicy?: ReputationPolicy;
}

const check = (status: string | undefined): CheckStatus =>
  status === 'SUCCESS' ? 'success' : status === 'FAILED' ? 'failed' : 'pending';

function identityOf(out: GetEmailIdentityCommandOutput): DomainIdentity {
  const overall = check(out.VerificationStatus);
  return {
    status: overall === 'success' ? 'verified' : overall,
    dkim: check(out.DkimAttributes?.Status),
    mailFrom: check(out.MailFromAttributes?.MailFromDomainStatus),
    dkimTokens: out.DkimAttributes?.Tokens ?? [],
  };
}

const named = (error: unknown, name: string) => error instanceof Error && error.name === name;

/** Runs an SES call whose "already there" answer means the work is done. */
/** The call's answer; undefined when what it creates already existed. */
async function idempotent<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (!named(error, 'AlreadyExistsException')) throw error;
    return undefined;
  }
}

export function createSesDomains(options: SesDomainsOptions): SesDomains {
  const { ses, arnPrefix } = options;
  // SES's managed policies: arn:<partition>:ses:<region>:aws:reputation-policy/<name>.
  const [arn, partition, , region] = arnPrefix.split(':');
  const policyArn = (policy: ReputationPolicy) =>
    `${arn}:${partition}:ses:${region}:aws:reputation-policy/${policy}`;

  async function tenantNamed(sesTenant: string) {
    try {
      return (await ses.send(new GetTenantCommand({ TenantName: sesTenant }))).Tenant ?? null;
    } catch (error) {
      if (named(error, 'NotFoundException')) return null;
      throw error;
    }
  }
  const identityArn = (name: string) => `${arnPrefix}identity/${name}`;

  return {
    async createIdentity(domain, sesTenant) {
      let created: CreateEmailIdentityCommandOutput;
      try {
        created = await ses.send(
          new CreateEmailIdentityCommand({
            EmailIdentity: domain,
            DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
          }),
        );
      } catch (error) {
        if (named(error, 'AlreadyExistsException')) throw new IdentityExistsError(domain, { cause: error });
        throw error;
      }
      await ses.send(
        new PutEmailIdentityMailFromAttributesCommand({
          EmailIdentity: domain,
          MailFromDomain: `${MAIL_FROM_LABEL}.${domain}`,
          BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
        }),
      );
      await idempotent(() =>
        ses.send(
          new CreateTenantResourceAssociationCommand({
            TenantName: sesTenant,
            ResourceArn: identityArn(domain),
          }),
        ),
      );
      return {
        status: created.VerifiedForSendingStatus ? 'verified' : 'pending',
        dkim: check(created.DkimAttributes?.Status),
        mailFrom: 'pending',
        dkimTokens: created.DkimAttributes?.Tokens ?? [],
      };
    },

    async getIdentity(domain) {
      try {
        return identityOf(await ses.send(new GetEmailIdentityCommand({ EmailIdentity: domain })));
      } catch (error) {
        if (named(error, 'NotFoundException')) return null;
        throw error;
      }
    },

    async deleteIdentity(domain) {
      try {
        await ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: domain }));
      } catch (error) {
        if (!named(error, 'NotFoundException')) throw error;
      }
    },

    async ensureTenant(sesTenant) {
      const created = await idempotent(() => ses.send(new CreateTenantCommand({ TenantName: sesTenant })));
      if (created) {
        await ses.send(
          new UpdateReputationEntityPolicyCommand({
            ReputationEntityType: 'RESOURCE',
            ReputationEntityReference: created.TenantArn,
            ReputationEntityPolicy: policyArn(options.reputationPolicy ?? 'standard'),
          }),
        );
      }
      const shared = [identityArn(options.platformIdentity)];
      if (options.configurationSet !== undefined) {
        shared.push(`${arnPrefix}configuration-set/${options.configurationSet}`);
      }
      for (const arn of shared) {
        await idempotent(() =>
          ses.send(new CreateTenantResourceAssociationCommand({ TenantName: sesTenant, ResourceArn: arn })),
        );
      }
    },

    async tenantReputation(sesTenant) {
      const tenant = await tenantNamed(sesTenant);
      if (!tenant?.TenantArn) return null;
      const { ReputationEntity: entity } = await ses.send(
        new GetReputationEntityCommand({
          ReputationEntityType: 'RESOURCE',
          ReputationEntityReference: tenant.TenantArn,
        }),
      );
      const policy = entity?.ReputationManagementPolicy?.split('/').at(-1);
      return {
        tenantName: sesTenant,
        sendingStatus: entity?.SendingStatusAggregate ?? tenant.SendingStatus ?? 'ENABLED',
        reputationPolicy: REPUTATION_POLICIES.find((p) => p === policy) ?? null,
        reputationImpact: entity?.ReputationImpact ?? null,
      };
    },

    async setReputationPolicy(sesTenant, policy) {
      const tenant = await tenantNamed(sesTenant);
      if (!tenant?.TenantArn) return false;
      await ses.send(
        new UpdateReputationEntityPolicyCommand({
          ReputationEntityType: 'RESOURCE',
          ReputationEntityReference: tenant.TenantArn,
          ReputationEntityPolicy: policyArn(policy),
        }),
      );
      return true;
    },
  };
}
