import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidCursorError } from '../core/errors';
import { type Suppression, suppressionAddress } from '../core/suppression';
import { parseLimit } from './cursor';
import type { RouteContext } from './deps';
import { BadRequestError, NotFoundError, UnprocessableError } from './errors';
import { json, noContent, parseJsonBody, parseWith } from './http';
import { putSuppressionBodySchema, type SuppressionView } from './suppression-schemas';

/**
 * A tenant's suppression list (docs/design.md §19): list, read, add (manual) and remove. Addresses are
 * keyed as the dispatcher keys recipients (bare, punycoded domain, lower case); each tenant sees and
 * changes only its own list.
 */

/** Built field by field: nothing else a stored item may carry reaches a response. */
function view(entry: Suppression): SuppressionView {
  return {
    address: entry.address,
    reason: entry.reason,
    source: entry.source,
    at: entry.at,
    ...(entry.messageId !== undefined && { messageId: entry.messageId }),
    ...(entry.detail !== undefined && { detail: entry.detail }),
  };
}

/** The path's address as the list keys it, or null when it is not an address the dispatcher would send to. */
function addressOf(ctx: RouteContext): string | null {
  return suppressionAddress(ctx.params.address ?? '');
}

/** GET /tenants/{tenantId}/suppressions?limit&cursor: in address order. */
export async function listSuppressionsRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const query = ctx.event.queryStringParameters ?? {};
  const limit = parseLimit(query.limit);
  try {
    const page = await ctx.deps.suppressions.listSuppressions(ctx.tenantId, {
      limit,
      cursor: query.cursor ?? null,
    });
    return json(200, { items: page.items.map(view), cursor: page.cursor });
  } catch (err) {
    if (err instanceof InvalidCursorError) {
      throw new BadRequestError('cursor is not valid for this listing', 'cursor', { cause: err });
    }
    throw err;
  }
}

/** GET /tenants/{tenantId}/suppressions/{address}: one entry, or 404. */
export async function getSuppressionRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const address = addressOf(ctx);
  const entry = address === null ? null : await ctx.deps.suppressions.getSuppression(ctx.tenantId, address);
  if (!entry) throw new NotFoundError('address is not suppressed', 'address');
  return json(200, view(entry));
}

/** PUT /tenants/{tenantId}/suppressions/{address} `{}`: suppress by hand (reason manual, source api). */
export async function putSuppressionRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const { event, deps, tenantId } = ctx;
  parseWith(putSuppressionBodySchema, parseJsonBody(event.body, event.isBase64Encoded) ?? {});
  const address = addressOf(ctx);
  if (address === null) throw new UnprocessableError('validation', 'must be a bare address', 'address');
  const entry: Suppression = {
    address,
    reason: 'manual',
    source: 'api',
    at: new Date(deps.clock.now()).toISOString(),
  };
  await deps.suppressions.putSuppression(tenantId, entry);
  return json(200, view(entry));
}

/** DELETE /tenants/{tenantId}/suppressions/{address}: the tenant mails the address again; 404 if absent. */
export async function deleteSuppressionRoute(ctx: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const address = addressOf(ctx);
  const deleted = address !== null && (await ctx.deps.suppressions.deleteSuppression(ctx.tenantId, address));
  if (!deleted) throw new NotFoundError('address is not suppressed', 'address');
  return noContent();
}
