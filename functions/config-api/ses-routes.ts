import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { sesTenantName } from '../core/ses-tenant';
import type { RouteContext } from './deps';
import { domainsOf, ensureSesTenant } from './domain-routes';
import { ForbiddenError, NotFoundError } from './errors';
import { json, parseJsonBody, parseWith } from './http';
import { putSesBodySchema, type SesTenantView } from './ses-schemas';

/**
 * The tenant's SES tenant, for the platform's operators only (docs/design.md §20): its sending status as
 * SES judges it and the reputation policy that decides what SES does about findings.
 */

function adminOnly(ctx: RouteContext): void {
  if (!ctx.admin) throw new ForbiddenError('only the platform (mailer/admin) manages SES tenants');
}

/** GET /tenants/{tenantId}/ses: 404 while the tenant has no SES tenant yet. */
export async function getSesRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  adminOnly(ctx);
  const found = await domainsOf(ctx).ses.tenantReputation(sesTenantName(ctx.tenantId));
  if (!found) throw new NotFoundError('the tenant has no SES tenant yet (made on its first SES send)');
  const view: SesTenantView = found;
  return json(200, view);
}

/** PUT /tenants/{tenantId}/ses `{ reputationPolicy }`: makes the SES tenant if needed, sets its policy. */
export async function putSesRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  adminOnly(ctx);
  const { event, deps, tenantId } = ctx;
  const body = parseWith(putSesBodySchema, parseJsonBody(event.body, event.isBase64Encoded));
  const domains = domainsOf(ctx);
  const name = sesTenantName(tenantId);
  await ensureSesTenant(domains, tenantId, deps.clock.now());
  if (!(await domains.ses.setReputationPolicy(name, body.reputationPolicy))) {
    throw new NotFoundError('the SES tenant is gone');
  }
  const found = await domains.ses.tenantReputation(name);
  if (!found) throw new NotFoundError('the SES tenant is gone');
  return json(200, found satisfies SesTenantView);
}
