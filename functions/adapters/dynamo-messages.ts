import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import {
  CLAIM_SK,
  COUNTER_SK,
  claimPk,
  DELIVERY_PREFIX,
  type DeliveryRecord,
  deliveryFromItem,
  deliveryToItem,
  type Item,
  isExpired,
  ratePk,
  retentionExpiry,
  tenantPk,
} from './dynamo-items';
import { AdapterError } from './errors';

/** A delivery-log cursor that is not one this store handed out for this tenant (the API answers 400). */
export class InvalidCursorError extends AdapterError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidCursorError';
  }
}

export interface ClaimMessageInput {
  tenantId: string;
  /** The message's idempotencyKey (defaults to the SQS message id). */
  key: string;
  /** Epoch ms the lease lasts until (the invocation's deadline). */
  leaseUntil: number;
  /** The delivery item's sk; stored only when the claim is created, later claims keep the first one. */
  deliverySk: string;
  /** Epoch ms. */
  now: number;
}

/**
 * `claimed`: this caller holds the lease. `firstClaim` false means an earlier attempt may have finished
 * the message (e.g. the SQS delete failed after sending): read `getDelivery(deliverySk)` and send nothing
 * when its status is final. `leased`: another invocation holds a live lease until `leaseUntil` (epoch ms).
 * `done`: marked done with `markMessageDone`.
 */
export type ClaimOutcome =
  | { outcome: 'claimed'; attempts: number; deliverySk: string; firstClaim: boolean }
  | { outcome: 'leased'; leaseUntil: number }
  | { outcome: 'done'; deliverySk: string };

export interface DeliveryPage {
  items: DeliveryRecord[];
  /** The ExclusiveStartKey of the next page, or null when there is none. */
  lastKey: Record<string, unknown> | null;
}

/** Idempotency claims, the delivery log and the rate limiter. */
export interface MessageStore {
  /**
   * Takes the message's lease with one conditional UpdateItem (when no lease is live and the claim is not
   * done; a claim past its expiresAt counts as absent and starts over at attempt 1). On a lost condition
   * a consistent GetItem tells `leased` from `done` (never err.Item: the local DynamoDB ignores it).
   */
  claimMessage(input: ClaimMessageInput): Promise<ClaimOutcome>;
  /**
   * Releases the lease after a failed attempt (leaseUntil 0). With `heldLeaseUntil`, only while the lease
   * is still the caller's own. False when there was nothing (of ours) to release.
   */
  releaseMessage(tenantId: string, key: string, heldLeaseUntil?: number): Promise<boolean>;
  /**
   * Marks the claim done, so later receives get `done` without reading the delivery item. Not needed in
   * the happy path (the delivery item is the record of done-ness); for redeliveries found finished.
   */
  markMessageDone(tenantId: string, key: string): Promise<void>;
  /** Writes (overwrites) the delivery item, expiring 30 days from now. */
  putDelivery(tenantId: string, record: DeliveryRecord): Promise<void>;
  /** One delivery item by its sk (consistent read); null when absent or past expiresAt. */
  getDelivery(tenantId: string, sk: string): Promise<DeliveryRecord | null>;
  /** The delivery log newest first; expired items are left out, so a page may hold fewer than `limit`. */
  listDeliveries(
    tenantId: string,
    page: { limit: number; cursor?: Record<string, unknown> | null },
  ): Promise<DeliveryPage>;
  /** One delivery by its messageId (idempotencyKey), through the claim item's deliverySk. */
  getDeliveryByMessageId(tenantId: string, messageId: string): Promise<DeliveryRecord | null>;
  /** Counts one hit in the current fixed window of `key`; false (refused) once `limit` hits were counted. */
  hitRateLimit(key: string, limit: number, windowSeconds: number): Promise<boolean>;
}

/** Attribute names of the claim item's lease updates. */
const CLAIM_NAMES = {
  '#lease': 'leaseUntil',
  '#dsk': 'deliverySk',
  '#exp': 'expiresAt',
  '#attempts': 'attempts',
  '#done': 'done',
};

/** The values every lease update sets: the lease, the delivery item's sk, the expiry, one attempt. */
function leaseValues(input: ClaimMessageInput) {
  return {
    ':lease': input.leaseUntil,
    ':dsk': input.deliverySk,
    ':exp': retentionExpiry(input.now),
    ':one': 1,
  };
}

/** Rounds of claim/read when the claim changes between the two; more means something is badly wrong. */
const CLAIM_ROUNDS = 4;

/** Builds the message half of the DynamoDB store. */
export function createMessageStore({ doc, tableName, clock }: DynamoStoreOptions): MessageStore {
  const claimKey = (tenantId: string, key: string) => ({ pk: claimPk(tenantId, key), sk: CLAIM_SK });

  async function getItem(key: Item): Promise<Item | null> {
    const out = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return out.Item ?? null;
  }

  const claimed = (attrs: Item | undefined): ClaimOutcome => {
    const attempts = typeof attrs?.attempts === 'number' ? attrs.attempts : 1;
    const deliverySk = typeof attrs?.deliverySk === 'string' ? attrs.deliverySk : '';
    return { outcome: 'claimed', attempts, deliverySk, firstClaim: attempts === 1 };
  };

  /** The ordinary claim: creates the item or takes a free lease on a live, unfinished claim. */
  async function takeLease(input: ClaimMessageInput): Promise<ClaimOutcome | null> {
    let attrs: Item | undefined;
    const held = await conditionHeld(async () => {
      const out = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: claimKey(input.tenantId, input.key),
          UpdateExpression:
            'SET #lease = :lease, #dsk = if_not_exists(#dsk, :dsk), #exp = :exp ADD #attempts :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR (#lease < :now AND #exp > :nowSec AND attribute_not_exists(#done))',
          ExpressionAttributeNames: CLAIM_NAMES,
          ExpressionAttributeValues: {
            ...leaseValues(input),
            ':now': input.now,
            ':nowSec': Math.floor(input.now / 1000),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      attrs = out.Attributes;
    });
    return held ? claimed(attrs) : null;
  }

  /** Starts an expired claim over (attempt 1, new deliverySk); only one racer sees it still expired. */
  async function restartExpired(input: ClaimMessageInput): Promise<ClaimOutcome | null> {
    const held = await conditionHeld(() =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: claimKey(input.tenantId, input.key),
          UpdateExpression: 'SET #lease = :lease, #dsk = :dsk, #exp = :exp, #attempts = :one REMOVE #done',
          ConditionExpression: '#exp <= :nowSec',
          ExpressionAttributeNames: CLAIM_NAMES,
          ExpressionAttributeValues: {
            ...leaseValues(input),
            ':nowSec': Math.floor(input.now / 1000),
          },
        }),
      ),
    );
    return held ? { outcome: 'claimed', attempts: 1, deliverySk: input.deliverySk, firstClaim: true } : null;
  }

  async function claimMessage(input: ClaimMessageInput): Promise<ClaimOutcome> {
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const taken = await takeLease(input);
      if (taken) return taken;
      const current = await getItem(claimKey(input.tenantId, input.key));
      if (!current) continue; // deleted by TTL between the two calls: claim afresh
      if (isExpired(current, input.now)) {
        const restarted = await restartExpired(input);
        if (restarted) return restarted;
        continue;
      }
      if (current.done === true) {
        return {
          outcome: 'done',
          deliverySk: typeof current.deliverySk === 'string' ? current.deliverySk : '',
        };
      }
      const leaseUntil = typeof current.leaseUntil === 'number' ? current.leaseUntil : 0;
      if (leaseUntil >= input.now) return { outcome: 'leased', leaseUntil };
      // The lease was released between our update and our read: try again.
    }
    throw new AdapterError(`idempotency claim for tenant ${input.tenantId} kept changing; gave up`);
  }

  async function releaseMessage(tenantId: string, key: string, heldLeaseUntil?: number): Promise<boolean> {
    const own = heldLeaseUntil === undefined ? '' : ' AND #lease = :held';
    return conditionHeld(() =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: claimKey(tenantId, key),
          UpdateExpression: 'SET #lease = :zero',
          ConditionExpression: `attribute_exists(pk)${own}`,
          ExpressionAttributeNames: { '#lease': 'leaseUntil' },
          ExpressionAttributeValues: {
            ':zero': 0,
            ...(heldLeaseUntil === undefined ? {} : { ':held': heldLeaseUntil }),
          },
        }),
      ),
    );
  }

  async function markMessageDone(tenantId: string, key: string): Promise<void> {
    await conditionHeld(() =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: claimKey(tenantId, key),
          UpdateExpression: 'SET #done = :true, #lease = :zero',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#done': 'done', '#lease': 'leaseUntil' },
          ExpressionAttributeValues: { ':true': true, ':zero': 0 },
        }),
      ),
    );
  }

  async function putDelivery(tenantId: string, record: DeliveryRecord): Promise<void> {
    await doc.send(
      new PutCommand({ TableName: tableName, Item: deliveryToItem(tenantId, record, clock.now()) }),
    );
  }

  async function getDelivery(tenantId: string, sk: string): Promise<DeliveryRecord | null> {
    const item = await getItem({ pk: tenantPk(tenantId), sk });
    return item && !isExpired(item, clock.now()) ? deliveryFromItem(item) : null;
  }

  /** Rebuilds the start key from the cursor, so a cursor can never leave this tenant's delivery items. */
  function startKey(tenantId: string, cursor: Record<string, unknown>): Item {
    const pk = tenantPk(tenantId);
    const { sk } = cursor;
    if (cursor.pk !== pk || typeof sk !== 'string' || !sk.startsWith(DELIVERY_PREFIX)) {
      throw new InvalidCursorError('cursor does not belong to this delivery log');
    }
    return { pk, sk };
  }

  async function listDeliveries(
    tenantId: string,
    page: { limit: number; cursor?: Record<string, unknown> | null },
  ): Promise<DeliveryPage> {
    const limit = Math.max(1, Math.floor(page.limit));
    // One extra item tells whether a next page exists, so the last page carries no dangling cursor.
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':prefix': DELIVERY_PREFIX },
        ScanIndexForward: false,
        Limit: limit + 1,
        ...(page.cursor ? { ExclusiveStartKey: startKey(tenantId, page.cursor) } : {}),
      }),
    );
    const raw = out.Items ?? [];
    const shown = raw.slice(0, limit);
    const last = shown[shown.length - 1];
    let lastKey: Item | null = out.LastEvaluatedKey ?? null;
    if (raw.length > limit && last) lastKey = { pk: last.pk, sk: last.sk };
    const now = clock.now();
    return { items: shown.filter((item) => !isExpired(item, now)).map(deliveryFromItem), lastKey };
  }

  async function getDeliveryByMessageId(tenantId: string, messageId: string): Promise<DeliveryRecord | null> {
    const claim = await getItem(claimKey(tenantId, messageId));
    if (!claim || isExpired(claim, clock.now()) || typeof claim.deliverySk !== 'string') return null;
    return getDelivery(tenantId, claim.deliverySk);
  }

  async function hitRateLimit(key: string, limit: number, windowSeconds: number): Promise<boolean> {
    if (!(windowSeconds >= 1)) throw new RangeError('windowSeconds must be at least 1');
    if (limit < 1) return false; // an absent counter would otherwise let one hit through
    const nowSec = Math.floor(clock.now() / 1000);
    const windowStart = nowSec - (nowSec % windowSeconds);
    return conditionHeld(() =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: ratePk(key, windowStart), sk: COUNTER_SK },
          UpdateExpression: 'SET #exp = :exp ADD #count :one',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#exp': 'expiresAt' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':exp': windowStart + 2 * windowSeconds },
        }),
      ),
    );
  }

  return {
    claimMessage,
    releaseMessage,
    markMessageDone,
    putDelivery,
    getDelivery,
    listDeliveries,
    getDeliveryByMessageId,
    hitRateLimit,
  };
}
