import type { IncomingMessage } from 'node:http';
import { type Identity, SesFault, type SesModel, type Status, type Tenant } from './ses-stand-in-model';

/** The SES v2 operations the stand-in answers besides SendEmail, and its local admin routes. */

export type Body = Record<string, unknown>;
export type Handler = (params: string[], body: Body, req: IncomingMessage) => Body | Promise<Body>;
/** Method, path pattern (its groups are the URI parameters, still encoded) and the operation. */
export type Route = [string, RegExp, Handler];

const STATUSES: readonly Status[] = ['ENABLED', 'REINSTATED', 'DISABLED'];

/** The admin route's actions and the verification status each leaves on the identity. */
const IDENTITY_STATUS = {
  verify: 'SUCCESS',
  fail: 'FAILED',
  'temporary-failure': 'TEMPORARY_FAILURE',
} as const;

export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
function required(body: Body, field: string): string {
  const value = str(body[field]);
  if (!value) throw new SesFault('BadRequestException', `${field} is required.`);
  return value;
}

function identityView(i: Identity): Body {
  const status = i.status;
  return {
    IdentityType: i.type,
    VerifiedForSendingStatus: status === 'SUCCESS',
    VerificationStatus: status,
    FeedbackForwardingStatus: true,
    DkimAttributes: {
      SigningEnabled: i.type === 'DOMAIN',
      Status: i.type === 'DOMAIN' ? status : 'NOT_STARTED',
      Tokens: i.dkimTokens,
      SigningAttributesOrigin: 'AWS_SES',
      NextSigningKeyLength: i.keyLength,
      CurrentSigningKeyLength: i.keyLength,
      LastKeyGenerationTimestamp: i.createdAt,
    },
    ...(i.mailFrom && {
      MailFromAttributes: {
        MailFromDomain: i.mailFrom.domain,
        MailFromDomainStatus: status,
        BehaviorOnMxFailure: i.mailFrom.behavior,
      },
    }),
    ...(i.configurationSetName !== undefined && { ConfigurationSetName: i.configurationSetName }),
    Policies: {},
    Tags: i.tags,
  };
}

function tenantView(model: SesModel, t: Tenant): Body {
  return {
    TenantName: t.name,
    TenantId: t.id,
    TenantArn: t.arn,
    CreatedTimestamp: t.createdAt,
    Tags: t.tags,
    SendingStatus: model.aggregate(t),
  };
}

export function apiRoutes(model: SesModel): Route[] {
  return [
    [
      'POST',
      /^\/v2\/email\/identities$/,
      (_, body) => {
        const signing = (body.DkimSigningAttributes ?? {}) as Body;
        const set = str(body.ConfigurationSetName);
        const created = model.createIdentity(
          required(body, 'EmailIdentity'),
          str(signing.NextSigningKeyLength),
          set,
        );
        if (Array.isArray(body.Tags)) created.tags = body.Tags as Identity['tags'];
        const { IdentityType, VerifiedForSendingStatus, DkimAttributes } = identityView(created);
        return { IdentityType, VerifiedForSendingStatus, DkimAttributes };
      },
    ],
    ['GET', /^\/v2\/email\/identities\/([^/]+)$/, ([name]) => identityView(model.identity(name ?? ''))],
    [
      'DELETE',
      /^\/v2\/email\/identities\/([^/]+)$/,
      ([name]) => {
        model.deleteIdentity(name ?? '');
        return {};
      },
    ],
    [
      'PUT',
      /^\/v2\/email\/identities\/([^/]+)\/mail-from$/,
      ([name], body) => {
        model.setMailFrom(name ?? '', str(body.MailFromDomain), str(body.BehaviorOnMxFailure));
        return {};
      },
    ],
    [
      'POST',
      /^\/v2\/email\/tenants$/,
      (_, body) => {
        const tags = Array.isArray(body.Tags) ? (body.Tags as Tenant['tags']) : [];
        return tenantView(model, model.createTenant(required(body, 'TenantName'), tags));
      },
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/get$/,
      (_, body) => ({ Tenant: tenantView(model, model.tenant(required(body, 'TenantName'))) }),
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/delete$/,
      (_, body) => {
        model.tenants.delete(model.tenant(required(body, 'TenantName')).name);
        return {};
      },
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/list$/,
      () => ({
        Tenants: [...model.tenants.values()].map((t) => ({
          TenantName: t.name,
          TenantId: t.id,
          TenantArn: t.arn,
          CreatedTimestamp: t.createdAt,
        })),
      }),
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/resources$/,
      (_, body) => {
        model.associate(required(body, 'TenantName'), required(body, 'ResourceArn'));
        return {};
      },
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/resources\/delete$/,
      (_, body) => {
        model.disassociate(required(body, 'TenantName'), required(body, 'ResourceArn'));
        return {};
      },
    ],
    [
      'POST',
      /^\/v2\/email\/tenants\/resources\/list$/,
      (_, body) => {
        const t = model.tenant(required(body, 'TenantName'));
        const type = str((body.Filter as Body | undefined)?.RESOURCE_TYPE);
        const resources = [...t.resources.keys()].map((arn) => ({
          ResourceType: arn.includes(':configuration-set/') ? 'CONFIGURATION_SET' : 'EMAIL_IDENTITY',
          ResourceArn: arn,
        }));
        return { TenantResources: resources.filter((r) => type === undefined || r.ResourceType === type) };
      },
    ],
    [
      'POST',
      /^\/v2\/email\/resources\/tenants\/list$/,
      (_, body) => {
        const arn = required(body, 'ResourceArn');
        const owners = [...model.tenants.values()].filter((t) => t.resources.has(arn));
        return {
          ResourceTenants: owners.map((t) => ({
            TenantName: t.name,
            TenantId: t.id,
            ResourceArn: arn,
            AssociatedTimestamp: t.resources.get(arn),
          })),
        };
      },
    ],
    [
      'GET',
      /^\/v2\/email\/reputation\/entities\/RESOURCE\/([^/]+)$/,
      ([reference]) => {
        const t = model.reputationEntity(reference ?? '');
        const record = (status: Status, cause?: string) => ({
          Status: status,
          ...(cause !== undefined && { Cause: cause }),
          LastUpdatedTimestamp: t.createdAt,
        });
        return {
          ReputationEntity: {
            ReputationEntityReference: t.arn,
            ReputationEntityType: 'RESOURCE',
            ReputationManagementPolicy: t.policyArn,
            CustomerManagedStatus: record(t.customerStatus),
            AwsSesManagedStatus: record(t.sesStatus, t.sesCause),
            SendingStatusAggregate: model.aggregate(t),
            ReputationImpact: t.sesStatus === 'DISABLED' ? 'HIGH' : 'LOW',
          },
        };
      },
    ],
    [
      'PUT',
      /^\/v2\/email\/reputation\/entities\/RESOURCE\/([^/]+)\/policy$/,
      ([reference], body) => {
        const policy = required(body, 'ReputationEntityPolicy');
        if (!/:reputation-policy\/(none|standard|strict)$/.test(policy)) {
          throw new SesFault('BadRequestException', `Invalid reputation policy: ${policy}`);
        }
        model.reputationEntity(reference ?? '').policyArn = policy;
        return {};
      },
    ],
    [
      'PUT',
      /^\/v2\/email\/reputation\/entities\/RESOURCE\/([^/]+)\/customer-managed-status$/,
      ([reference], body) => {
        const status = required(body, 'SendingStatus') as Status;
        if (!STATUSES.includes(status))
          throw new SesFault('BadRequestException', `Invalid SendingStatus: ${status}`);
        model.reputationEntity(reference ?? '').customerStatus = status;
        return {};
      },
    ],
    // Local admin: what DNS records (found, gone, a lookup that failed for now) and SES's own reputation
    // enforcement do in AWS.
    [
      'POST',
      /^\/_local\/identities\/([^/]+)\/(verify|fail|temporary-failure)$/,
      ([name, action]) => {
        const found = model.identity(name ?? '');
        found.status = IDENTITY_STATUS[action as keyof typeof IDENTITY_STATUS];
        return { identity: found.name, status: found.status };
      },
    ],
    [
      'POST',
      /^\/_local\/tenants\/([^/]+)\/(pause|resume)$/,
      ([name, action]) => {
        const t = model.tenant(name ?? '');
        t.sesStatus = action === 'pause' ? 'DISABLED' : 'ENABLED';
        if (action === 'pause') t.sesCause = 'paused locally (npm run ses-tenant)';
        else delete t.sesCause;
        return { tenant: t.name, sendingStatus: model.aggregate(t) };
      },
    ],
  ];
}
