import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantSnapshot } from '../core/ports';
import { type HealthState, initialHealth, type SenderConfig } from '../core/types';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import { HEALTH_SK, healthFromItem, healthToItem, SENDER_SK, senderFromItem, tenantPk } from './dynamo-items';

/** A conditional write's condition, names and values. */
interface WriteGuard {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * The condition of a HEALTH write. With `previous`, the write also requires the breaker fields the
 * caller decided from to be unchanged (optimistic concurrency on existing attributes): a container that
 * read "healthy" cannot overwrite a breaker another container opened meanwhile. A missing item matches
 * any `previous`, and so does an item of an older config version (the caller read it as a fresh health,
 * as decideRoute does): without that, a reset the config API never finished would keep this tenant's
 * breaker unwritable.
 */
export function healthWriteGuard(health: HealthState, previous?: HealthState): WriteGuard {
  if (!previous) {
    return {
      ConditionExpression: 'attribute_not_exists(pk) OR #v <= :v',
      ExpressionAttributeNames: { '#v': 'configVersion' },
      ExpressionAttributeValues: { ':v': health.configVersion },
    };
  }
  return {
    ConditionExpression:
      'attribute_not_exists(pk) OR #v < :v OR (#v = :v AND #s = :ps AND #f = :pf AND #b = :pb)',
    ExpressionAttributeNames: {
      '#v': 'configVersion',
      '#s': 'state',
      '#f': 'consecutiveFailures',
      '#b': 'backoffLevel',
    },
    ExpressionAttributeValues: {
      ':v': health.configVersion,
      ':ps': previous.state,
      ':pf': previous.consecutiveFailures,
      ':pb': previous.backoffLevel,
    },
  };
}

/**
 * Reads SENDER and HEALTH with exactly one consistent Query
 * (`pk = TENANT#<id> AND sk BETWEEN 'HEALTH' AND 'SENDER'`); DELIVERY items sort before and are never read.
 */
export async function loadTenant(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
): Promise<TenantSnapshot> {
  const out = await doc.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :h AND :s',
      ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':h': HEALTH_SK, ':s': SENDER_SK },
      ConsistentRead: true,
    }),
  );
  let config: SenderConfig | null = null;
  let health: HealthState | null = null;
  for (const item of out.Items ?? []) {
    if (item.sk === SENDER_SK) config = senderFromItem(tenantId, item);
    else if (item.sk === HEALTH_SK) health = healthFromItem(item);
  }
  return { config, health };
}

/** Writes the whole HEALTH item under `healthWriteGuard`; false when its condition did not hold. */
export async function writeHealth(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  health: HealthState,
  previous?: HealthState,
): Promise<boolean> {
  const guard = healthWriteGuard(health, previous);
  return conditionHeld(() =>
    doc.send(new PutCommand({ TableName: tableName, Item: healthToItem(tenantId, health), ...guard })),
  );
}

/** Takes the probe lease of an unhealthy tenant whose retryAt has come; one racer gets true. */
export async function claimProbe(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  configVersion: number,
  leaseUntilIso: string,
  now: string | number,
): Promise<boolean> {
  // ISO 8601 UTC strings of one shape (toISOString) order like the times they name.
  const nowIso = typeof now === 'number' ? new Date(now).toISOString() : now;
  return conditionHeld(() =>
    doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: tenantPk(tenantId), sk: HEALTH_SK },
        UpdateExpression: 'SET #lease = :lease',
        ConditionExpression:
          '#state = :unhealthy AND #retryAt <= :now AND #v = :v AND ' +
          '(attribute_not_exists(#lease) OR #lease < :now)',
        ExpressionAttributeNames: {
          '#state': 'state',
          '#retryAt': 'retryAt',
          '#lease': 'probeLeaseUntil',
          '#v': 'configVersion',
        },
        ExpressionAttributeValues: {
          ':lease': leaseUntilIso,
          ':unhealthy': 'unhealthy',
          ':now': nowIso,
          ':v': configVersion,
        },
      }),
    ),
  );
}

/** Writes HEALTH healthy for a new config version unless HEALTH is at that version or a newer one. */
export async function resetHealth(
  { doc, tableName }: DynamoStoreOptions,
  tenantId: string,
  configVersion: number,
): Promise<boolean> {
  return conditionHeld(() =>
    doc.send(
      new PutCommand({
        TableName: tableName,
        Item: healthToItem(tenantId, initialHealth(configVersion)),
        ConditionExpression: 'attribute_not_exists(pk) OR #v < :v',
        ExpressionAttributeNames: { '#v': 'configVersion' },
        ExpressionAttributeValues: { ':v': configVersion },
      }),
    ),
  );
}
