import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SenderConfig } from '../core/types';
import { conditional, conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import { domainPk, OWNER_SK, SENDER_SK, senderFromItem, senderToItem, tenantPk } from './dynamo-items';

/** Sender configs (the SENDER item) and sender domain ownership (the DOMAIN#… / OWNER items). */

const VERSION_CONDITION = 'attribute_not_exists(pk) OR #v = :v';

/** Stores SENDER if its version is still `expectedVersion`; ConditionFailedError when another came first. */
export async function putSender(
  { doc, tableName }: DynamoStoreOptions,
  config: SenderConfig,
  expectedVersion: number,
): Promise<void> {
  if (config.version <= expectedVersion) {
    throw new RangeError('a new SENDER version must be greater than the one it replaces');
  }
  await conditional(`SENDER of tenant ${config.tenantId} is no longer at version ${expectedVersion}`, () =>
    doc.send(
      new PutCommand({
        TableName: tableName,
        Item: senderToItem(config),
        // Stored versions start at 1, so expectedVersion 0 matches only a missing item.
        ConditionExpression: VERSION_CONDITION,
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':v': expectedVersion },
      }),
    ),
  );
}

/** The SENDER item (consistent read), or null when the tenant never had one. */
export async function getSender(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
): Promise<SenderConfig | null> {
  const out = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: tenantPk(tenantId), sk: SENDER_SK },
      ConsistentRead: true,
    }),
  );
  return out.Item ? senderFromItem(tenantId, out.Item) : null;
}

/**
 * Replaces the OAuth2 refresh token ciphertext of SENDER (the provider rotated it) if it is still at
 * `configVersion` with a stored refresh token; the version does not change. False when the config moved on.
 */
export async function replaceRefreshToken(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  configVersion: number,
  ciphertext: string,
): Promise<boolean> {
  return conditionHeld(() =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: tenantPk(tenantId), sk: SENDER_SK },
        UpdateExpression: 'SET smtp.oauth2.refreshTokenCiphertext = :c',
        ConditionExpression: '#v = :v AND attribute_exists(smtp.oauth2.refreshTokenCiphertext)',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':v': configVersion, ':c': ciphertext },
      }),
    ),
  );
}

/** Claims a sender domain for a tenant; succeeds when it is free or already this tenant's. */
export async function claimDomain(
  { doc, tableName, clock }: DynamoStoreOptions,
  name: string,
  tenantId: string,
): Promise<'claimed' | 'owned-by-other'> {
  const held = await conditionHeld(() =>
    doc.send(
      new PutCommand({
        TableName: tableName,
        Item: { pk: domainPk(name), sk: OWNER_SK, tenantId, claimedAt: new Date(clock.now()).toISOString() },
        ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t',
        ExpressionAttributeValues: { ':t': tenantId },
      }),
    ),
  );
  return held ? 'claimed' : 'owned-by-other';
}

/** Releases a domain only if `tenantId` owns it; false when it did not. */
export async function releaseDomain(
  { doc, tableName }: DynamoStoreOptions,
  name: string,
  tenantId: string,
): Promise<boolean> {
  return conditionHeld(() =>
    doc.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: domainPk(name), sk: OWNER_SK },
        ConditionExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': tenantId },
      }),
    ),
  );
}

/** The tenant owning a sender domain, or null. */
export async function domainOwner(
  { doc, tableName }: DynamoStoreOptions,
  name: string,
): Promise<string | null> {
  const out = await doc.send(
    new GetCommand({ TableName: tableName, Key: { pk: domainPk(name), sk: OWNER_SK }, ConsistentRead: true }),
  );
  return typeof out.Item?.tenantId === 'string' ? out.Item.tenantId : null;
}
