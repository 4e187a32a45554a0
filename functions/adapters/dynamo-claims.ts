import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AdapterError } from '../core/errors';
import type { ClaimMessageInput, ClaimOutcome } from '../core/ports';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import {
  CLAIM_SK,
  claimPk,
  deliveryIdOf,
  deliverySkFor,
  type Item,
  isExpired,
  retentionExpiry,
} from './dynamo-items';

/**
 * Idempotency claims: one item per (tenant, key) holding the lease, the attempt count, the delivery
 * item's sort key, the content hash of the message that created it and whether the message is done. The decisions about a claim read back from the table
 * are pure (`claimedFrom`, `judgeClaim`); the calls below only read and write.
 */

/** Rounds of claim/read when the claim changes between the two; more means something is badly wrong. */
const CLAIM_ROUNDS = 4;

/** Attribute names of the claim item's lease updates. */
const CLAIM_NAMES = {
  '#lease': 'leaseUntil',
  '#dsk': 'deliverySk',
  '#exp': 'expiresAt',
  '#attempts': 'attempts',
  '#done': 'done',
  '#hash': 'contentHash',
};

export function claimKey(tenantId: string, key: string): Item {
  return { pk: claimPk(tenantId, key), sk: CLAIM_SK };
}

/** The delivery item's sort key a claim created now would hold. */
function deliverySkOfClaim(input: ClaimMessageInput): string {
  return deliverySkFor(new Date(input.now).toISOString(), input.key);
}

/** The values every lease update sets: the lease, the delivery item's sk, the expiry, one attempt. */
function leaseValues(input: ClaimMessageInput) {
  return {
    ':lease': input.leaseUntil,
    ':dsk': deliverySkOfClaim(input),
    ':exp': retentionExpiry(input.now),
    ':one': 1,
    ':hash': input.contentHash,
  };
}

/** The delivery id a claim item points at ('' for an item without one). */
export function deliveryIdOfClaim(item: Item | undefined): string {
  return typeof item?.deliverySk === 'string' ? deliveryIdOf(item.deliverySk) : '';
}

/**
 * The outcome of a lease this caller took, from the item as it was before the update (`old`, undefined
 * for a new claim): one attempt more, the delivery it already pointed at, and whether the lease it
 * replaced had lapsed (set, never released: its holder ended without a word).
 */
export function claimedFrom(old: Item | undefined, input: ClaimMessageInput): ClaimOutcome {
  const attempts = (typeof old?.attempts === 'number' ? old.attempts : 0) + 1;
  const deliveryId = deliveryIdOfClaim(old) || deliveryIdOf(deliverySkOfClaim(input));
  const lapsed = typeof old?.leaseUntil === 'number' && old.leaseUntil > 0;
  return { outcome: 'claimed', attempts, deliveryId, firstClaim: attempts === 1, lapsed };
}

/**
 * What a claim read after a lost condition says: `retry` (gone or released meanwhile: claim afresh),
 * `restart` (expired: start it over), or the outcome to answer. Another content's claim is a conflict
 * whatever its state; a claim without a hash (written before hashes) matches any content.
 */
export function judgeClaim(
  item: Item | null,
  now: number,
  contentHash: string,
): 'retry' | 'restart' | ClaimOutcome {
  if (!item) return 'retry'; // deleted by TTL between the two calls
  if (isExpired(item, now)) return 'restart';
  if (typeof item.contentHash === 'string' && item.contentHash !== contentHash)
    return { outcome: 'conflict' };
  if (item.done === true) return { outcome: 'done', deliveryId: deliveryIdOfClaim(item) };
  const leaseUntil = typeof item.leaseUntil === 'number' ? item.leaseUntil : 0;
  if (leaseUntil >= now) return { outcome: 'leased', leaseUntil };
  return 'retry'; // the lease was released between our update and our read
}

/** The claim item (consistent read), or null. */
export async function readClaim(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  key: string,
): Promise<Item | null> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: claimKey(tenantId, key), ConsistentRead: true }),
  );
  return out.Item ?? null;
}

/** The ordinary claim: creates the item or takes a free lease on a live, unfinished claim. */
async function takeLease(
  { doc, tableName }: DynamoStoreOptions,
  input: ClaimMessageInput,
): Promise<ClaimOutcome | null> {
  let attrs: Item | undefined;
  const held = await conditionHeld(async () => {
    const out = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: claimKey(input.tenantId, input.key),
        UpdateExpression:
          'SET #lease = :lease, #dsk = if_not_exists(#dsk, :dsk), #hash = if_not_exists(#hash, :hash), ' +
          '#exp = :exp ADD #attempts :one',
        ConditionExpression:
          'attribute_not_exists(pk) OR (#lease < :now AND #exp > :nowSec AND attribute_not_exists(#done) ' +
          'AND (attribute_not_exists(#hash) OR #hash = :hash))',
        ExpressionAttributeNames: CLAIM_NAMES,
        ExpressionAttributeValues: {
          ...leaseValues(input),
          ':now': input.now,
          ':nowSec': Math.floor(input.now / 1000),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    attrs = out.Attributes;
  });
  return held ? claimedFrom(attrs, input) : null;
}

/** Starts an expired claim over (attempt 1, new delivery); only one racer sees it still expired. */
async function restartExpired(
  { doc, tableName }: DynamoStoreOptions,
  input: ClaimMessageInput,
): Promise<ClaimOutcome | null> {
  const held = await conditionHeld(() =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: claimKey(input.tenantId, input.key),
        UpdateExpression:
          'SET #lease = :lease, #dsk = :dsk, #hash = :hash, #exp = :exp, #attempts = :one REMOVE #done',
        ConditionExpression: '#exp <= :nowSec',
        ExpressionAttributeNames: CLAIM_NAMES,
        ExpressionAttributeValues: { ...leaseValues(input), ':nowSec': Math.floor(input.now / 1000) },
      }),
    ),
  );
  const deliveryId = deliveryIdOf(deliverySkOfClaim(input));
  return held ? { outcome: 'claimed', attempts: 1, deliveryId, firstClaim: true, lapsed: false } : null;
}

/**
 * Takes the message's lease with one conditional UpdateItem (when no lease is live and the claim is not
 * done; a claim past its expiresAt counts as absent and starts over at attempt 1). On a lost condition
 * a consistent GetItem tells `leased` from `done` (never err.Item: the local DynamoDB ignores it).
 */
export async function claimMessage(
  table: DynamoStoreOptions,
  input: ClaimMessageInput,
): Promise<ClaimOutcome> {
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const taken = await takeLease(table, input);
    if (taken) return taken;
    const verdict = judgeClaim(
      await readClaim(table, input.tenantId, input.key),
      input.now,
      input.contentHash,
    );
    if (verdict === 'retry') continue;
    if (verdict !== 'restart') return verdict;
    const restarted = await restartExpired(table, input);
    if (restarted) return restarted;
  }
  throw new AdapterError(`idempotency claim for tenant ${input.tenantId} kept changing; gave up`);
}

/** Releases the lease (leaseUntil 0); with `heldLeaseUntil`, only while the lease is still the caller's. */
export async function releaseMessage(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  key: string,
  heldLeaseUntil?: number,
): Promise<boolean> {
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

/** Marks the claim done (and its lease free): later receives get `done` without reading the delivery. */
export async function markMessageDone(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  key: string,
): Promise<void> {
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
