import { randomBytes } from 'node:crypto';

/**
 * What the SES v2 stand-in remembers: email identities (with Easy DKIM tokens and MAIL FROM), tenants
 * with their resource associations and reputation statuses, and the checks SendEmail makes. No I/O; the
 * server in ses-stand-in.ts speaks the wire protocol around it.
 */

export type Status = 'ENABLED' | 'REINSTATED' | 'DISABLED';
export type VerificationStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE';

export interface Identity {
  name: string;
  type: 'DOMAIN' | 'EMAIL_ADDRESS';
  arn: string;
  status: VerificationStatus;
  dkimTokens: string[];
  keyLength: 'RSA_1024_BIT' | 'RSA_2048_BIT';
  mailFrom?: { domain: string; behavior: string };
  configurationSetName?: string;
  tags: Array<{ Key: string; Value: string }>;
  createdAt: number;
}

export interface Tenant {
  name: string;
  id: string;
  arn: string;
  createdAt: number;
  tags: Array<{ Key: string; Value: string }>;
  /** Set through UpdateReputationEntityCustomerManagedStatus. */
  customerStatus: Status;
  /** What SES itself decided (the automatic pause); the local admin route plays that part. */
  sesStatus: Status;
  sesCause?: string;
  policyArn: string;
  /** Resource ARN → when it was associated (epoch seconds). */
  resources: Map<string, number>;
}

/** A refusal in SES's own terms: the error type the SDK maps to its exception class, and the message. */
export class SesFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface ModelOptions {
  region: string;
  account: string;
  /** Configuration sets that exist (created by the CDK stack in AWS). */
  configurationSets: string[];
}

const now = () => Math.floor(Date.now() / 1000);
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ADDRESS = /^[^\s@<>]+@([^\s@<>]+)$/;

/** 32 characters of a-z and 2-7, like SES's DKIM tokens. */
function dkimToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...randomBytes(32)].map((b) => alphabet[b % 32]).join('');
}

export function createSesModel(options: ModelOptions) {
  const identities = new Map<string, Identity>();
  const tenants = new Map<string, Tenant>();
  const arnPrefix = `arn:aws:ses:${options.region}:${options.account}:`;
  const configurationSetArn = (name: string) => `${arnPrefix}configuration-set/${name}`;
  const defaultPolicy = `arn:aws:ses:${options.region}:aws:reputation-policy/standard`;

  function identity(name: string): Identity {
    const found = identities.get(name.toLowerCase());
    if (!found) throw new SesFault('NotFoundException', `Email identity ${name} does not exist.`, 404);
    return found;
  }

  function tenant(name: string): Tenant {
    const found = tenants.get(name);
    if (!found) throw new SesFault('NotFoundException', `Tenant ${name} does not exist.`, 404);
    return found;
  }

  function resourceExists(arn: string): boolean {
    if (!arn.startsWith(arnPrefix)) return false;
    const [kind, ...rest] = arn.slice(arnPrefix.length).split('/');
    const name = rest.join('/');
    if (kind === 'identity') return identities.has(name.toLowerCase());
    if (kind === 'configuration-set') return options.configurationSets.includes(name);
    return false;
  }

  /** DISABLED when either side says so; REINSTATED when the customer reinstated it; else ENABLED. */
  const aggregate = (t: Tenant): Status =>
    t.customerStatus === 'DISABLED' || t.sesStatus === 'DISABLED'
      ? 'DISABLED'
      : t.customerStatus === 'REINSTATED'
        ? 'REINSTATED'
        : 'ENABLED';

  /** The verified identities that let `address` send: the address itself, its domain, a parent domain. */
  function verifiedFor(address: string): Identity[] {
    const lower = address.toLowerCase();
    const labels = (lower.split('@')[1] ?? '').split('.');
    const names = [lower, ...labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'))];
    return names.flatMap((n) => {
      const found = identities.get(n);
      return found?.status === 'SUCCESS' ? [found] : [];
    });
  }

  return {
    identities,
    tenants,
    identity,
    tenant,
    aggregate,

    createIdentity(name: string, keyLength: string | undefined, configurationSetName?: string): Identity {
      const lower = name.toLowerCase();
      const type = ADDRESS.test(lower) ? 'EMAIL_ADDRESS' : DOMAIN.test(lower) ? 'DOMAIN' : undefined;
      if (!type) throw new SesFault('BadRequestException', `Invalid email identity: ${name}`);
      if (identities.has(lower))
        throw new SesFault('AlreadyExistsException', `Email identity ${name} already exist.`);
      if (configurationSetName !== undefined && !options.configurationSets.includes(configurationSetName)) {
        throw new SesFault(
          'NotFoundException',
          `Configuration set ${configurationSetName} does not exist.`,
          404,
        );
      }
      const created: Identity = {
        name: lower,
        type,
        arn: `${arnPrefix}identity/${lower}`,
        status: 'PENDING',
        dkimTokens: type === 'DOMAIN' ? [dkimToken(), dkimToken(), dkimToken()] : [],
        keyLength: keyLength === 'RSA_1024_BIT' ? 'RSA_1024_BIT' : 'RSA_2048_BIT',
        ...(configurationSetName !== undefined && { configurationSetName }),
        tags: [],
        createdAt: now(),
      };
      identities.set(lower, created);
      return created;
    },

    deleteIdentity(name: string): void {
      const found = identity(name);
      identities.delete(found.name);
      for (const t of tenants.values()) t.resources.delete(found.arn);
    },

    setMailFrom(name: string, domain: string | undefined, behavior: string | undefined): void {
      const found = identity(name);
      if (!domain) {
        delete found.mailFrom;
        return;
      }
      const lower = domain.toLowerCase();
      const parent = found.type === 'DOMAIN' ? found.name : (found.name.split('@')[1] ?? '');
      if (!lower.endsWith(`.${parent}`) || !DOMAIN.test(lower)) {
        throw new SesFault(
          'BadRequestException',
          `MAIL FROM domain ${domain} must be a subdomain of ${parent}.`,
        );
      }
      found.mailFrom = { domain: lower, behavior: behavior ?? 'USE_DEFAULT_VALUE' };
    },

    createTenant(name: string, tags: Tenant['tags'] = []): Tenant {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
        throw new SesFault('BadRequestException', `Invalid tenant name: ${name}`);
      if (tenants.has(name)) throw new SesFault('AlreadyExistsException', `Tenant ${name} already exists.`);
      const id = `tn-${randomBytes(12).toString('hex')}`;
      const created: Tenant = {
        name,
        id,
        arn: `${arnPrefix}tenant/${name}/${id}`,
        createdAt: now(),
        tags,
        customerStatus: 'ENABLED',
        sesStatus: 'ENABLED',
        policyArn: defaultPolicy,
        resources: new Map(),
      };
      tenants.set(name, created);
      return created;
    },

    associate(tenantName: string, resourceArn: string): void {
      const t = tenant(tenantName);
      if (!resourceExists(resourceArn)) {
        throw new SesFault('NotFoundException', `Resource ${resourceArn} does not exist.`, 404);
      }
      if (t.resources.has(resourceArn)) {
        throw new SesFault(
          'AlreadyExistsException',
          `Resource ${resourceArn} is already associated with tenant ${tenantName}.`,
        );
      }
      t.resources.set(resourceArn, now());
    },

    disassociate(tenantName: string, resourceArn: string): void {
      const t = tenant(tenantName);
      if (!t.resources.delete(resourceArn)) {
        throw new SesFault(
          'NotFoundException',
          `Resource ${resourceArn} is not associated with tenant ${tenantName}.`,
          404,
        );
      }
    },

    /** A tenant found by its reputation entity reference (the tenant's ARN). */
    reputationEntity(reference: string): Tenant {
      const found = [...tenants.values()].find((t) => t.arn === reference);
      if (!found)
        throw new SesFault('NotFoundException', `Reputation entity ${reference} does not exist.`, 404);
      return found;
    },

    /**
     * The checks SendEmail makes before anything leaves, in SES's terms: the configuration set exists, the
     * From is a verified identity, and with a TenantName the tenant exists, sends, and owns every resource
     * the send refers to.
     */
    checkSend(input: { from: string; configurationSetName?: string; tenantName?: string }): void {
      const set = input.configurationSetName;
      if (set !== undefined && !options.configurationSets.includes(set)) {
        throw new SesFault('NotFoundException', `Configuration set ${set} does not exist.`, 404);
      }
      const verified = verifiedFor(input.from);
      if (verified.length === 0) {
        throw new SesFault(
          'MessageRejected',
          `Email address is not verified. The following identities failed the check in region ${options.region.toUpperCase()}: ${input.from}`,
        );
      }
      if (input.tenantName === undefined) return;
      const t = tenant(input.tenantName);
      const owned = verified.filter((i) => t.resources.has(i.arn));
      if (owned.length === 0) {
        throw new SesFault(
          'BadRequestException',
          `Identity ${verified[0]?.name} is not associated with tenant ${t.name}.`,
        );
      }
      if (set !== undefined && !t.resources.has(configurationSetArn(set))) {
        throw new SesFault(
          'BadRequestException',
          `Configuration set ${set} is not associated with tenant ${t.name}.`,
        );
      }
      if (aggregate(t) === 'DISABLED') {
        throw new SesFault('SendingPausedException', `Sending is paused for tenant ${t.name}.`);
      }
    },
  };
}

export type SesModel = ReturnType<typeof createSesModel>;
