import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { InvalidCursorError } from '../core/errors';
import { parseLimit } from './cursor';
import type { RouteContext } from './deps';
import { BadRequestError, NotFoundError } from './errors';
import { json } from './http';
import { messageIdSchema } from './schemas';
import { deliveryDetail, deliveryView, healthView } from './views';

/** GET /tenants/{tenantId}/health: the HEALTH item (one Query with the config, for a never-seen tenant). */
export async function healthRoute({
  tenantId,
  deps,
}: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const { config, health } = await deps.store.loadTenant(tenantId);
  return json(200, healthView(health, config?.version ?? 0));
}

/** GET /tenants/{tenantId}/deliveries?limit&cursor: newest first, with an opaque tenant-bound cursor. */
export async function deliveriesRoute({
  event,
  tenantId,
  deps,
}: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const query = event.queryStringParameters ?? {};
  const limit = parseLimit(query.limit);
  let page: Awaited<ReturnType<typeof deps.store.listDeliveries>>;
  try {
    page = await deps.store.listDeliveries(tenantId, { limit, cursor: query.cursor ?? null });
  } catch (err) {
    // Garbled, forged or another tenant's: the store hands out and checks its own cursors.
    if (err instanceof InvalidCursorError) {
      throw new BadRequestError('cursor is not valid for this listing', 'cursor', { cause: err });
    }
    throw err;
  }
  return json(200, { items: page.items.map(deliveryView), cursor: page.cursor });
}

/** GET /tenants/{tenantId}/deliveries/{messageId}: one delivery through its idempotency claim. */
export async function deliveryRoute({
  tenantId,
  params,
  deps,
}: RouteContext): Promise<APIGatewayProxyStructuredResultV2> {
  const parsed = messageIdSchema.safeParse(params.messageId);
  if (!parsed.success) throw new NotFoundError('no such delivery', 'messageId');
  const record = await deps.store.getDeliveryByMessageId(tenantId, parsed.data);
  if (!record) throw new NotFoundError('no such delivery', 'messageId');
  return json(200, deliveryDetail(record));
}
