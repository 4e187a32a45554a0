import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryPage, DeliveryRecord, MessageStore } from '../core/ports';
import { claimMessage, deliveryIdOfClaim, markMessageDone, readClaim, releaseMessage } from './dynamo-claims';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import { cursorOf, decodeCursor } from './dynamo-cursor';
import {
  COUNTER_SK,
  DELIVERY_PREFIX,
  deliveryFromItem,
  deliverySkOf,
  deliveryToItem,
  type Item,
  isExpired,
  limitPk,
  ratePk,
  tenantPk,
} from './dynamo-items';

/**
 * The message half of the DynamoDB store: idempotency claims (dynamo-claims.ts), the delivery log and
 * the rate limiter. Each operation is a named function over the table; the store binds them.
 */

/** Writes (overwrites) the delivery item, expiring 30 days from now. */
async function putDelivery(t: DynamoStoreOptions, tenantId: string, record: DeliveryRecord): Promise<void> {
  await t.doc.send(
    new PutCommand({ TableName: t.tableName, Item: deliveryToItem(tenantId, record, t.clock.now()) }),
  );
}

/** One delivery item by its id (consistent read); null when absent or past expiresAt. */
async function getDelivery(
  t: DynamoStoreOptions,
  tenantId: string,
  deliveryId: string,
): Promise<DeliveryRecord | null> {
  const out = await t.doc.send(
    new GetCommand({
      TableName: t.tableName,
      Key: { pk: tenantPk(tenantId), sk: deliverySkOf(deliveryId) },
      ConsistentRead: true,
    }),
  );
  const item: Item | undefined = out.Item;
  return item && !isExpired(item, t.clock.now()) ? deliveryFromItem(item) : null;
}

/**
 * The delivery log newest first, one page. The cursor is rebuilt into a start key bound to this
 * tenant's delivery items (decodeCursor), so it can never leave them.
 */
async function listDeliveries(
  t: DynamoStoreOptions,
  tenantId: string,
  page: { limit: number; cursor?: string | null },
): Promise<DeliveryPage> {
  const limit = Math.max(1, Math.floor(page.limit));
  // An empty cursor is a cursor too (and not one this store hands out).
  const start = page.cursor == null ? undefined : decodeCursor(tenantId, page.cursor);
  // One extra item tells whether a next page exists, so the last page carries no dangling cursor.
  const out = await t.doc.send(
    new QueryCommand({
      TableName: t.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': DELIVERY_PREFIX },
      ScanIndexForward: false,
      Limit: limit + 1,
      ...(start ? { ExclusiveStartKey: { ...start } } : {}),
    }),
  );
  const raw = out.Items ?? [];
  const shown = raw.slice(0, limit);
  const last = shown[shown.length - 1];
  const lastKey: Item | null = raw.length > limit && last ? last : (out.LastEvaluatedKey ?? null);
  const now = t.clock.now();
  return {
    items: shown.filter((item) => !isExpired(item, now)).map(deliveryFromItem),
    cursor: cursorOf(lastKey),
  };
}

/** One delivery by its messageId (idempotencyKey), through the claim item's delivery sort key. */
async function getDeliveryByMessageId(
  t: DynamoStoreOptions,
  tenantId: string,
  messageId: string,
): Promise<DeliveryRecord | null> {
  const claim = await readClaim(t, tenantId, messageId);
  if (!claim || isExpired(claim, t.clock.now()) || typeof claim.deliverySk !== 'string') return null;
  return getDelivery(t, tenantId, deliveryIdOfClaim(claim));
}

/** Counts one hit in the current fixed window of `key`; false (refused) once `limit` hits were counted. */
async function hitRateLimit(
  t: DynamoStoreOptions,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<boolean> {
  if (!(windowSeconds >= 1)) throw new RangeError('windowSeconds must be at least 1');
  if (limit < 1) return false; // an absent counter would otherwise let one hit through
  const nowSec = Math.floor(t.clock.now() / 1000);
  const windowStart = nowSec - (nowSec % windowSeconds);
  return conditionHeld(() =>
    t.doc.send(
      new UpdateCommand({
        TableName: t.tableName,
        Key: { pk: ratePk(key, windowStart), sk: COUNTER_SK },
        UpdateExpression: 'SET #exp = :exp ADD #count :one',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
        ExpressionAttributeNames: { '#count': 'count', '#exp': 'expiresAt' },
        ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':exp': windowStart + 2 * windowSeconds },
      }),
    ),
  );
}

/**
 * Reserves up to `want` in a sending-limit window: one conditional ADD that keeps the counter at or
 * under `max`; when it would pass, a consistent read of what is left and one more ADD of that (a few
 * rounds under contention). Never more than `max` in total, whatever the number of containers.
 */
async function reserveLimit(
  t: DynamoStoreOptions,
  tenantId: string,
  window: string,
  want: number,
  max: number,
  expiresAtSeconds: number,
): Promise<number> {
  const Key = { pk: limitPk(tenantId), sk: window };
  let ask = Math.min(want, max);
  for (let round = 0; round < 4 && ask > 0; round += 1) {
    const added = await conditionHeld(() =>
      t.doc.send(
        new UpdateCommand({
          TableName: t.tableName,
          Key,
          UpdateExpression: 'SET #exp = :exp ADD #count :ask',
          ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
          ExpressionAttributeNames: { '#count': 'count', '#exp': 'expiresAt' },
          ExpressionAttributeValues: { ':ask': ask, ':room': max - ask, ':exp': expiresAtSeconds },
        }),
      ),
    );
    if (added) return ask;
    const out = await t.doc.send(new GetCommand({ TableName: t.tableName, Key, ConsistentRead: true }));
    ask = Math.min(want, max - Number(out.Item?.count ?? 0));
  }
  return 0;
}

/** Builds the message half of the DynamoDB store over an injected document client. */
export function createMessageStore(table: DynamoStoreOptions): MessageStore {
  return {
    claimMessage: (input) => claimMessage(table, input),
    releaseMessage: (tenantId, key, heldLeaseUntil) => releaseMessage(table, tenantId, key, heldLeaseUntil),
    markMessageDone: (tenantId, key) => markMessageDone(table, tenantId, key),
    putDelivery: (tenantId, record) => putDelivery(table, tenantId, record),
    getDelivery: (tenantId, deliveryId) => getDelivery(table, tenantId, deliveryId),
    listDeliveries: (tenantId, page) => listDeliveries(table, tenantId, page),
    getDeliveryByMessageId: (tenantId, messageId) => getDeliveryByMessageId(table, tenantId, messageId),
    hitRateLimit: (key, limit, windowSeconds) => hitRateLimit(table, key, limit, windowSeconds),
    reserveLimit: (tenantId, window, want, max, expiresAtSeconds) =>
      reserveLimit(table, tenantId, window, want, max, expiresAtSeconds),
  };
}
