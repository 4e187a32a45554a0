import type { AlertEmitter } from './alerts';
import type { DomainClaim, DomainStore, SesDomains } from './domains-port';

/**
 * A domain claim brought up to date with SES's verification of its identity (docs/design.md §20). Both
 * the config API's domain routes and the dispatcher (when SES refuses a domain it had verified) refresh
 * through here, so a change is recorded and told the same way whoever finds it.
 */
export interface DomainRefreshDeps {
  store: Pick<DomainStore, 'updateClaim'>;
  ses: Pick<SesDomains, 'getIdentity'>;
  /** Tells the tenant (domain.verified / domain.failed, §18) when this refresh records the change. */
  alerts?: Pick<AlertEmitter, 'domainChanged'> | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Reads SES's verification of the claim's identity and records a change (pending → verified / failed,
 * verified → failed; a verified claim never goes back to pending). A verified claim whose identity SES
 * no longer has is failed: SES cannot send from it, and only a new PUT (a new identity) makes it usable
 * again. A pending claim without an identity is left as it is (its PUT may still be creating it).
 */
export async function refreshClaim(
  deps: DomainRefreshDeps,
  claim: DomainClaim,
  nowMs: number,
): Promise<DomainClaim> {
  const identity = await deps.ses.getIdentity(claim.name);
  if (!identity && claim.status !== 'verified') return claim;
  const next: DomainClaim = identity
    ? {
        ...claim,
        status: identity.status,
        dkim: identity.dkim,
        mailFrom: identity.mailFrom,
        dkimTokens: identity.dkimTokens.length > 0 ? identity.dkimTokens : claim.dkimTokens,
      }
    : { ...claim, status: 'failed' };
  // SES's TEMPORARY_FAILURE (a DNS lookup that failed, retried for 72 h) reads as pending: a verified
  // domain keeps its status and its owner until SES says FAILED.
  if (claim.status === 'verified' && next.status === 'pending') next.status = 'verified';
  if (next.status === 'verified') next.verifiedAt = claim.verifiedAt ?? iso(nowMs);
  const changed = (['status', 'dkim', 'mailFrom'] as const).some((k) => next[k] !== claim[k]);
  if (!changed) return next;
  const settled = next.status !== claim.status && (next.status === 'verified' || next.status === 'failed');
  // Conditional on the status read: of two racing refreshes, the one that records the change tells.
  const recorded = await deps.store.updateClaim(next, claim.status);
  if (recorded && settled) {
    await deps.alerts?.domainChanged({
      tenantId: claim.tenantId,
      domain: claim.name,
      status: next.status as 'verified' | 'failed',
      dkim: next.dkim,
      mailFrom: next.mailFrom,
    });
  }
  return next;
}

/**
 * SES refused to send as `domain` for `tenantId` (not verified): re-reads the tenant's claim and records
 * what SES now says, so the domain routes show `failed` and the tenant hears `domain.failed` once. A
 * claim of another tenant, or none, is left alone (the dispatcher only falls back).
 */
export async function recordRefusedDomain(
  deps: DomainRefreshDeps & { store: Pick<DomainStore, 'getClaim' | 'updateClaim'> },
  tenantId: string,
  domain: string,
  nowMs: number,
): Promise<DomainClaim | null> {
  const claim = await deps.store.getClaim(domain);
  if (claim === null || claim.tenantId !== tenantId) return null;
  return refreshClaim(deps, claim, nowMs);
}
