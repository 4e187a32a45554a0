import {
  CreateEmailIdentityCommand,
  type CreateEmailIdentityCommandOutput,
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  type GetEmailIdentityCommandOutput,
  PutEmailIdentityMailFromAttributesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { IdentityExistsError } from '../core/errors';
import { type CheckStatus, type DomainIdentity, MAIL_FROM_LABEL, type SesDomains } from '../core/ports';

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
async function idempotent(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!named(error, 'AlreadyExistsException')) throw error;
  }
}

export function createSesDomains(options: SesDomainsOptions): SesDomains {
  const { ses, arnPrefix } = options;
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
      await idempotent(() => ses.send(new CreateTenantCommand({ TenantName: sesTenant })));
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
  };
}
