import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type DomainNameProblem, normalizeDomainName } from '../core/domain-name';
import { refreshClaim } from '../core/domain-refresh';
import { IdentityExistsError } from '../core/errors';
import { type DomainClaim, MAIL_FROM_LABEL } from '../core/ports';
import { sesTenantName } from '../core/ses-tenant';
import type { DomainsApiDeps, RouteContext } from './deps';
import type { DomainView } from './domain-schemas';
import { DomainConflictError, NotFoundError, UnprocessableError } from './errors';
import { json, noContent } from './http';

/**
 * Custom sending domains (contract, "Domains"): a claim proven by DNS through SES, not by who came
 * first. A pending claim holds the name for 72 hours; a verified one until its tenant deletes it.
 */

export const PENDING_HOLD_MS = 72 * 3600_000;

const PROBLEMS: Record<DomainNameProblem, string> = {
  'trailing-dot': 'must not end with a dot',
  'ip-literal': 'must be a domain name, not an IP address',
  'not-a-domain': 'must be a domain name (letters, digits, hyphens; IDN allowed)',
  'not-registrable': 'must be a registrable domain or a name under one, not a public suffix',
  'platform-domain': "must not be the platform's own domain or a name under it",
};

export function domainsOf(ctx: RouteContext): DomainsApiDeps {
  if (!ctx.deps.domains) throw new NotFoundError('custom domains are not enabled in this deployment');
  return ctx.deps.domains;
}

const conflict = (code: 'domain-taken' | 'domain-pending', message: string) =>
  new DomainConflictError(code, message, 'domain');

const iso = (ms: number) => new Date(ms).toISOString();
const expired = (claim: DomainClaim, nowMs: number) =>
  claim.status === 'pending' && Date.parse(claim.expiresAt) <= nowMs;

/** The answer for a claim: its status (`expired` once a pending claim's 72 hours are over) and DNS records. */
export function domainView(claim: DomainClaim, region: string, nowMs: number): DomainView {
  const name = claim.name;
  const mailFrom = `${MAIL_FROM_LABEL}.${name}`;
  return {
    domain: name,
    status: expired(claim, nowMs) ? 'expired' : claim.status,
    dkim: claim.dkim,
    mailFrom: claim.mailFrom,
    dnsRecords: [
      ...claim.dkimTokens.map((token) => ({
        type: 'CNAME' as const,
        name: `${token}._domainkey.${name}`,
        value: `${token}.dkim.amazonses.com`,
        purpose: 'dkim' as const,
      })),
      { type: 'MX', name: mailFrom, value: `10 feedback-smtp.${region}.amazonses.com`, purpose: 'mail-from' },
      { type: 'TXT', name: mailFrom, value: '"v=spf1 include:amazonses.com ~all"', purpose: 'mail-from' },
      { type: 'TXT', name: `_dmarc.${name}`, value: '"v=DMARC1; p=none;"', purpose: 'dmarc', optional: true },
    ],
    createdAt: claim.createdAt,
    verifiedAt: claim.verifiedAt ?? null,
    expiresAt: claim.status === 'verified' ? null : claim.expiresAt,
  };
}

/** The tenant's SES tenant with its shared resources, made once (the marker item says it exists). */
export async function ensureSesTenant(
  domains: DomainsApiDeps,
  tenantId: string,
  nowMs: number,
): Promise<void> {
  if (await domains.store.hasSesTenantMarker(tenantId)) return;
  const name = sesTenantName(tenantId);
  await domains.ses.ensureTenant(name);
  await domains.store.putSesTenantMarker(tenantId, name, iso(nowMs));
}

/**
 * Claims the name (free, or replacing a claim that may be replaced: the tenant's own failed or expired
 * one, another tenant's expired or failed one), then creates the SES identity. The claim is written first
 * and removed last, so an identity of ours never exists without its claim; an identity found without one
 * was made outside tenant-mailer and is refused, never adopted.
 */
async function startClaim(
  ctx: RouteContext,
  domains: DomainsApiDeps,
  name: string,
  replacing: DomainClaim | null,
): Promise<{ status: number; claim: DomainClaim }> {
  const { tenantId } = ctx;
  const now = ctx.deps.clock.now();
  await ensureSesTenant(domains, tenantId, now);
  const claim: DomainClaim = {
    name,
    tenantId,
    status: 'pending',
    dkim: 'pending',
    mailFrom: 'pending',
    dkimTokens: [],
    createdAt: iso(now),
    expiresAt: iso(now + (domains.pendingHoldMs ?? PENDING_HOLD_MS)),
  };
  if (!(await domains.store.putClaim(claim, replacing ?? undefined))) {
    const winner = await domains.store.getClaim(name);
    if (winner?.tenantId === tenantId) return { status: 200, claim: winner };
    throw conflict('domain-pending', `domain ${name} is being verified by another tenant`);
  }
  if (replacing) await domains.ses.deleteIdentity(name);
  let identity: Awaited<ReturnType<DomainsApiDeps['ses']['createIdentity']>>;
  try {
    identity = await domains.ses.createIdentity(name, sesTenantName(tenantId));
  } catch (err) {
    await domains.store.deleteClaim(name, tenantId).catch(() => false);
    if (err instanceof IdentityExistsError) {
      throw conflict('domain-taken', `domain ${name} is already an SES identity outside tenant-mailer`);
    }
    throw err;
  }
  const created: DomainClaim = { ...claim, dkim: identity.dkim, dkimTokens: identity.dkimTokens };
  await domains.store.updateClaim(created);
  await domains.store.addName(tenantId, name);
  if (replacing && replacing.tenantId !== tenantId) await domains.store.removeName(replacing.tenantId, name);
  return { status: 201, claim: created };
}

/**
 * Domain mode needs a domain of the tenant that SES verified (a pending claim is refreshed first); on
 * deployments without the domain routes the sender's domain claim stays first come (§7 `OWNER`).
 */
export async function requireVerifiedDomain(ctx: RouteContext, name: string): Promise<void> {
  const domains = ctx.deps.domains;
  if (!domains) return;
  const claim = await domains.store.getClaim(name);
  const now = ctx.deps.clock.now();
  const current = claim?.tenantId === ctx.tenantId ? await refreshClaim(domains, claim, now) : undefined;
  if (current?.status !== 'verified') {
    throw new UnprocessableError(
      'domain-unverified',
      `domain ${name} is not a verified domain of this tenant: claim it (PUT /tenants/{tenantId}/domains/${name}) and publish its DNS records`,
      'domain.name',
    );
  }
}

/** PUT /tenants/{tenantId}/domains/{domain}: start (or restart) verification; 201, 200 when already there. */
export async function putDomainRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const domains = domainsOf(ctx);
  const normalized = normalizeDomainName(ctx.params.domain ?? '', domains.platformDomain);
  if (!normalized.ok) throw new UnprocessableError('validation', PROBLEMS[normalized.problem], 'domain');
  const name = normalized.name;
  const now = ctx.deps.clock.now();
  const existing = await domains.store.getClaim(name);
  if (existing?.tenantId === ctx.tenantId && existing.status !== 'failed' && !expired(existing, now)) {
    return json(200, domainView(await refreshClaim(domains, existing, now), domains.region, now));
  }
  if (existing && existing.tenantId !== ctx.tenantId) {
    if (existing.status === 'verified')
      throw conflict('domain-taken', `domain ${name} belongs to another tenant`);
    const current = await refreshClaim(domains, existing, now);
    if (current.status === 'verified')
      throw conflict('domain-taken', `domain ${name} belongs to another tenant`);
    if (current.status === 'pending' && !expired(current, now)) {
      throw conflict('domain-pending', `domain ${name} is being verified by another tenant`);
    }
  }
  const { status, claim } = await startClaim(ctx, domains, name, existing);
  return json(status, domainView(claim, domains.region, ctx.deps.clock.now()));
}

/** The caller's own claim on the path's domain, or 404. */
async function ownClaim(ctx: RouteContext, domains: DomainsApiDeps): Promise<DomainClaim> {
  const normalized = normalizeDomainName(ctx.params.domain ?? '', domains.platformDomain);
  const claim = normalized.ok ? await domains.store.getClaim(normalized.name) : null;
  if (!claim || claim.tenantId !== ctx.tenantId) throw new NotFoundError('no such domain', 'domain');
  return claim;
}

/** GET /tenants/{tenantId}/domains/{domain}: refreshed from SES. */
export async function getDomainRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const domains = domainsOf(ctx);
  const now = ctx.deps.clock.now();
  const claim = await refreshClaim(domains, await ownClaim(ctx, domains), now);
  return json(200, domainView(claim, domains.region, now));
}

/** GET /tenants/{tenantId}/domains: the tenant's claims as last recorded, by name. */
export async function listDomainsRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const domains = domainsOf(ctx);
  const now = ctx.deps.clock.now();
  const items: DomainView[] = [];
  for (const name of (await domains.store.listNames(ctx.tenantId)).sort()) {
    const claim = await domains.store.getClaim(name);
    if (claim?.tenantId === ctx.tenantId) items.push(domainView(claim, domains.region, now));
  }
  return json(200, { items });
}

/** DELETE /tenants/{tenantId}/domains/{domain}: the SES identity, then the claim. */
export async function deleteDomainRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const domains = domainsOf(ctx);
  const claim = await ownClaim(ctx, domains);
  await domains.ses.deleteIdentity(claim.name);
  await domains.store.deleteClaim(claim.name, ctx.tenantId);
  await domains.store.removeName(ctx.tenantId, claim.name);
  return noContent();
}
