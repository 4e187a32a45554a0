import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type HealthState, initialHealth, type SenderConfig } from '../core/types';
import { conditional, conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import {
  domainPk,
  HEALTH_SK,
  healthFromItem,
  healthToItem,
  OWNER_SK,
  SENDER_SK,
  senderFromItem,
  senderToItem,
  tenantPk,
} from './dynamo-items';
import { createMessageStore, type MessageStore } from './dynamo-messages';

export type { DynamoStoreOptions } from './dynamo-conditions';
export { type DeliveryRecord, deliverySkFor, isFinalStatus } from './dynamo-items';
export {
  type ClaimMessageInput,
  type ClaimOutcome,
  type DeliveryPage,
  InvalidCursorError,
  type MessageStore,
} from './dynamo-messages';

/** What the dispatcher needs to route a tenant's messages; both null for a tenant never seen. */
export interface TenantSnapshot {
  config: SenderConfig | null;
  health: HealthState | null;
}

/** Tenant config, health and domain ownership. */
export interface TenantStore {
  /**
   * Reads SENDER and HEALTH with exactly one consistent Query
   * (`pk = TENANT#<id> AND sk BETWEEN 'HEALTH' AND 'SENDER'`); DELIVERY items sort before and are never read.
   */
  loadTenant(tenantId: string): Promise<TenantSnapshot>;
  /**
   * Writes the whole HEALTH item if it is still for `health.configVersion` (or missing, or left by an
   * older config version). False when the config changed meanwhile: a failure of the old config must not
   * open the breaker of the new one.
   * With `previous` (the state the caller decided from), also false when another writer changed the
   * breaker (state, consecutiveFailures, backoffLevel) since: the caller re-reads and decides again.
   */
  writeHealth(tenantId: string, health: HealthState, previous?: HealthState): Promise<boolean>;
  /**
   * Takes the probe of an unhealthy tenant whose retryAt has come: sets probeLeaseUntil if no live probe
   * lease exists and the config version still matches. Exactly one of many racing callers gets true.
   */
  claimProbe(
    tenantId: string,
    configVersion: number,
    leaseUntilIso: string,
    now: string | number,
  ): Promise<boolean>;
  /**
   * Writes HEALTH healthy for a new config version (a config change resets health), unless HEALTH is
   * already at that version or a newer one: a late reset of an older config never overwrites a newer
   * one, nor the breaker of its own version. False when it was not written for that reason.
   */
  resetHealth(tenantId: string, configVersion: number): Promise<boolean>;
  /**
   * Stores the SENDER item if its current version is still `expectedVersion` (0: no item yet); throws
   * ConditionFailedError when another writer came first. The caller bumps `config.version`.
   */
  putSender(config: SenderConfig, expectedVersion: number): Promise<void>;
  /** The SENDER item (consistent read), or null when the tenant never had one. */
  getSender(tenantId: string): Promise<SenderConfig | null>;
  /** Claims a sender domain for a tenant; succeeds when it is free or already this tenant's. */
  claimDomain(name: string, tenantId: string): Promise<'claimed' | 'owned-by-other'>;
  /** Releases a domain only if `tenantId` owns it; false when it did not. */
  releaseDomain(name: string, tenantId: string): Promise<boolean>;
  /** The tenant owning a sender domain, or null. */
  domainOwner(name: string): Promise<string | null>;
}

/** The DynamoDB store: every item of the one table (docs/design.md §7 DynamoDB table). */
export type DynamoStore = TenantStore & MessageStore;

const VERSION_CONDITION = 'attribute_not_exists(pk) OR #v = :v';

/** Builds the DynamoDB store over an injected document client; nothing is read from the environment. */
export function createDynamoStore(options: DynamoStoreOptions): DynamoStore {
  const { doc, tableName } = options;

  async function loadTenant(tenantId: string): Promise<TenantSnapshot> {
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

  async function writeHealth(
    tenantId: string,
    health: HealthState,
    previous?: HealthState,
  ): Promise<boolean> {
    // With `previous`, the write also requires the breaker fields the caller decided from to be unchanged
    // (optimistic concurrency on existing attributes): a container that read "healthy" cannot overwrite
    // a breaker another container opened meanwhile. A missing item matches any `previous`, and so does
    // an item of an older config version (the caller read it as a fresh health, as decideRoute does):
    // without that, a reset the config API never finished would keep this tenant's breaker unwritable.
    const guard: {
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    } = previous
      ? {
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
        }
      : {
          ConditionExpression: 'attribute_not_exists(pk) OR #v <= :v',
          ExpressionAttributeNames: { '#v': 'configVersion' },
          ExpressionAttributeValues: { ':v': health.configVersion },
        };
    return conditionHeld(() =>
      doc.send(new PutCommand({ TableName: tableName, Item: healthToItem(tenantId, health), ...guard })),
    );
  }

  async function claimProbe(
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

  async function resetHealth(tenantId: string, configVersion: number): Promise<boolean> {
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

  async function putSender(config: SenderConfig, expectedVersion: number): Promise<void> {
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

  async function getSender(tenantId: string): Promise<SenderConfig | null> {
    const out = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: tenantPk(tenantId), sk: SENDER_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? senderFromItem(tenantId, out.Item) : null;
  }

  async function claimDomain(name: string, tenantId: string): Promise<'claimed' | 'owned-by-other'> {
    const held = await conditionHeld(() =>
      doc.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: domainPk(name),
            sk: OWNER_SK,
            tenantId,
            claimedAt: new Date(options.clock.now()).toISOString(),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t',
          ExpressionAttributeValues: { ':t': tenantId },
        }),
      ),
    );
    return held ? 'claimed' : 'owned-by-other';
  }

  async function releaseDomain(name: string, tenantId: string): Promise<boolean> {
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

  async function domainOwner(name: string): Promise<string | null> {
    const out = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: domainPk(name), sk: OWNER_SK },
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.tenantId === 'string' ? out.Item.tenantId : null;
  }

  return {
    loadTenant,
    writeHealth,
    claimProbe,
    resetHealth,
    putSender,
    getSender,
    claimDomain,
    releaseDomain,
    domainOwner,
    ...createMessageStore(options),
  };
}
