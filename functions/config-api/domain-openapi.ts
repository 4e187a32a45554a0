import type { Operation } from './openapi';

/** The domain routes in the OpenAPI document (contract, "Domains"); bodies come from domain-schemas.ts. */
export const DOMAIN_OPERATIONS: Record<string, Operation> = {
  'PUT /tenants/{tenantId}/domains/{domain}': {
    summary:
      'Start (or restart) the verification of a sending domain: an SES identity with Easy DKIM and MAIL ' +
      'FROM bounce.<domain>, in the tenant’s SES tenant. A pending claim holds the name for 72 h.',
    ok: { status: '201', description: 'Verification started (or restarted).', body: 'DomainView' },
    alsoOk: { status: '200', description: 'The tenant’s claim was already there.', body: 'DomainView' },
    errors: {
      '409':
        '`domain-pending`: another tenant’s claim is being verified; `domain-taken`: another tenant ' +
        'verified it, or the identity exists in SES outside tenant-mailer.',
      '422':
        '`validation` (field `domain`): a trailing dot, an IP literal, not a registrable name, or the ' +
        'platform’s own domain.',
    },
  },
  'GET /tenants/{tenantId}/domains/{domain}': {
    summary: 'The claim, its status refreshed from SES (a change is recorded), and the DNS records.',
    ok: { status: '200', description: 'The domain.', body: 'DomainView' },
  },
  'DELETE /tenants/{tenantId}/domains/{domain}': {
    summary: 'Deletes the SES identity and the claim.',
    ok: { status: '204', description: 'Deleted.' },
  },
  'GET /tenants/{tenantId}/domains': {
    summary: 'The tenant’s domains as last recorded, by name.',
    ok: { status: '200', description: 'Every domain of the tenant.', body: 'DomainList' },
  },
};
