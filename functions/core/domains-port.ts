/** Sender domains' ports (docs/design.md §20): the domain claims store and the SES identities. */

export type ClaimStatus = 'pending' | 'verified' | 'failed';

export type CheckStatus = 'pending' | 'success' | 'failed';

export interface DomainClaim {
  name: string;
  tenantId: string;
  status: ClaimStatus;
  dkim: CheckStatus;
  mailFrom: CheckStatus;
  dkimTokens: string[];
  createdAt: string;
  /** Until when a pending claim holds the name (ISO); after it another tenant may take it over. */
  expiresAt: string;
  verifiedAt?: string;
}

export interface DomainStore {
  getClaim(name: string): Promise<DomainClaim | null>;
  /**
   * Writes `claim` if the name is free, or replaces `replacing` exactly as read (its tenant and
   * createdAt): one of two racing writers wins. False when another write came first.
   */
  putClaim(claim: DomainClaim, replacing?: Pick<DomainClaim, 'tenantId' | 'createdAt'>): Promise<boolean>;
  /**
   * Rewrites the tenant's own claim made at `createdAt` (a status change); with `fromStatus`, only while
   * the stored status is still that one (of two racing refreshes, one records the change). False if
   * the claim is no longer that.
   */
  updateClaim(claim: DomainClaim, fromStatus?: DomainClaim['status']): Promise<boolean>;
  /** Deletes the tenant's own claim; false when it is not (or no longer) the tenant's. */
  deleteClaim(name: string, tenantId: string): Promise<boolean>;
  /** Every domain the tenant's list names (claims may since have gone to another tenant: check them). */
  listNames(tenantId: string): Promise<string[]>;
  addName(tenantId: string, name: string): Promise<void>;
  removeName(tenantId: string, name: string): Promise<void>;
  hasSesTenantMarker(tenantId: string): Promise<boolean>;
  putSesTenantMarker(tenantId: string, sesTenant: string, atIso: string): Promise<void>;
}

export interface DomainIdentity {
  /** `verified` once SES may send from it. */
  status: 'pending' | 'verified' | 'failed';
  dkim: CheckStatus;
  mailFrom: CheckStatus;
  dkimTokens: string[];
}

export interface SesDomains {
  /** Creates the domain identity, its MAIL FROM, and associates it with `sesTenant`. IdentityExistsError. */
  createIdentity(domain: string, sesTenant: string): Promise<DomainIdentity>;
  /** The identity's verification as SES reports it; null when SES has no such identity. */
  getIdentity(domain: string): Promise<DomainIdentity | null>;
  /** Deletes the identity (its associations go with it); an identity already gone is fine. */
  deleteIdentity(domain: string): Promise<void>;
  /**
   * Creates the SES tenant with the platform identity and the configuration set associated; idempotent.
   * A tenant this call created gets the stack's reputation policy (docs/design.md §20).
   */
  ensureTenant(sesTenant: string): Promise<void>;
  /** The SES tenant's standing; null when SES has no such tenant. */
  tenantReputation(sesTenant: string): Promise<SesTenantReputation | null>;
  /** Sets the SES tenant's reputation policy; false when SES has no such tenant. */
  setReputationPolicy(sesTenant: string, policy: ReputationPolicy): Promise<boolean>;
}

/** SES's managed reputation policies (what SES does about a tenant's reputation findings). */
export const REPUTATION_POLICIES = ['none', 'standard', 'strict'] as const;
export type ReputationPolicy = (typeof REPUTATION_POLICIES)[number];

export interface SesTenantReputation {
  tenantName: string;
  /** ENABLED, REINSTATED or DISABLED (SES paused the tenant's sending). */
  sendingStatus: string;
  reputationPolicy: ReputationPolicy | null;
  /** The highest impact of the tenant's open reputation findings (LOW, HIGH), null when none. */
  reputationImpact: string | null;
}

/** MAIL FROM subdomain (contract: `bounce.<domain>`; on a missing MX SES uses its default). */
export const MAIL_FROM_LABEL = 'bounce';
