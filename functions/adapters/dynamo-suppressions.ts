import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { AdapterError, InvalidCursorError } from '../core/errors';
import {
  appendDeliveryEvents,
  type DeliveryEvent,
  rememberEventId,
  type SuppressedPair,
  type Suppression,
  type SuppressionPage,
  type SuppressionStore,
  suppressedKey,
  suppressionAddress,
} from '../core/suppression';
import { conditionHeld, type DynamoStoreOptions } from './dynamo-conditions';
import { CLAIM_SK, claimPk, type Item, isExpired, pruneUndefined, tenantPk } from './dynamo-items';

/**
 * Per-tenant suppression items and the delivery timeline (docs/design.md §19 Delivery events and
 * suppression). A suppression is `SUPPRESS#<tenantId>` / `<address>` (its own pk prefix, so the
 * dispatcher's tenant Query never reads it); the timeline lives on the delivery item.
 */

/** Partition key of a tenant's suppression list (tenant ids carry no '#'). */
export function suppressionPk(tenantId: string): string {
  return `SUPPRESS#${tenantId}`;
}

/** BatchGetItem takes at most 100 keys a call. */
export const BATCH_GET_MAX_KEYS = 100;
/** Rounds for unprocessed keys (throttling) before the lookup gives up. */
const UNPROCESSED_ROUNDS = 5;
/** Rounds of read-modify-write on a delivery's timeline when other appends race it. */
const APPEND_ROUNDS = 5;

export function createSuppressionStore({ doc, tableName, clock }: DynamoStoreOptions): SuppressionStore {
  async function getItem(key: Item): Promise<Item | null> {
    const out = await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return out.Item ?? null;
  }

  async function suppressedAmong(pairs: SuppressedPair[]): Promise<Set<string>> {
    const unique = new Map<string, Item>();
    for (const { tenantId, address } of pairs) {
      unique.set(suppressedKey(tenantId, address), { pk: suppressionPk(tenantId), sk: address });
    }
    const keys = [...unique.values()];
    const found = new Set<string>();
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX_KEYS) {
      let pending: Item[] = keys.slice(i, i + BATCH_GET_MAX_KEYS);
      for (let round = 0; pending.length > 0; round += 1) {
        if (round === UNPROCESSED_ROUNDS) throw new AdapterError('suppression lookup: keys left unprocessed');
        const out = await doc.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'pk, sk' },
            },
          }),
        );
        for (const item of out.Responses?.[tableName] ?? []) {
          found.add(suppressedKey(String(item.pk).slice('SUPPRESS#'.length), String(item.sk)));
        }
        pending = (out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
      }
    }
    return found;
  }

  async function putSuppression(tenantId: string, entry: Suppression): Promise<void> {
    const item = pruneUndefined({ ...entry, pk: suppressionPk(tenantId), sk: entry.address });
    await doc.send(new PutCommand({ TableName: tableName, Item: item }));
  }

  async function getSuppression(tenantId: string, address: string): Promise<Suppression | null> {
    const item = await getItem({ pk: suppressionPk(tenantId), sk: address });
    return item ? suppressionFromItem(item) : null;
  }

  async function deleteSuppression(tenantId: string, address: string): Promise<boolean> {
    return conditionHeld(() =>
      doc.send(
        new DeleteCommand({
          TableName: tableName,
          Key: { pk: suppressionPk(tenantId), sk: address },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }

  async function listSuppressions(
    tenantId: string,
    page: { limit: number; cursor?: string | null },
  ): Promise<SuppressionPage> {
    const limit = Math.max(1, Math.floor(page.limit));
    const pk = suppressionPk(tenantId);
    const after = page.cursor ? addressOfCursor(page.cursor) : null;
    const out = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        Limit: limit + 1,
        ConsistentRead: true,
        ...(after !== null && { ExclusiveStartKey: { pk, sk: after } }),
      }),
    );
    const raw = out.Items ?? [];
    const items = raw.slice(0, limit).map(suppressionFromItem);
    const last = items[items.length - 1];
    const more = raw.length > limit || (out.LastEvaluatedKey !== undefined && raw.length === limit);
    return { items, cursor: more && last ? Buffer.from(last.address, 'utf8').toString('base64url') : null };
  }

  async function appendEvents(input: {
    tenantId: string;
    messageId: string;
    providerMessageId: string;
    eventId: string;
    events: DeliveryEvent[];
  }): Promise<'appended' | 'duplicate' | 'not-recorded'> {
    const claim = await getItem({ pk: claimPk(input.tenantId, input.messageId), sk: CLAIM_SK });
    const now = clock.now();
    if (!claim || isExpired(claim, now) || typeof claim.deliverySk !== 'string') return 'not-recorded';
    const key = { pk: tenantPk(input.tenantId), sk: claim.deliverySk };
    for (let round = 0; round < APPEND_ROUNDS; round += 1) {
      const item = await getItem(key);
      // The dispatcher records the SES message id with its one write after the send; until then the
      // item may still be rewritten whole, so nothing is appended before it carries that id.
      if (!item || isExpired(item, now) || item.providerMessageId !== input.providerMessageId) {
        return 'not-recorded';
      }
      const ids = Array.isArray(item.eventIds) ? (item.eventIds as string[]) : [];
      if (ids.includes(input.eventId)) return 'duplicate';
      const current = Array.isArray(item.events) ? (item.events as DeliveryEvent[]) : [];
      const version = typeof item.eventsVersion === 'number' ? item.eventsVersion : 0;
      const written = await conditionHeld(() =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET #events = :events, #ids = :ids, #v = :next',
            ConditionExpression: '#pm = :pm AND (attribute_not_exists(#v) OR #v = :v)',
            ExpressionAttributeNames: {
              '#events': 'events',
              '#ids': 'eventIds',
              '#v': 'eventsVersion',
              '#pm': 'providerMessageId',
            },
            ExpressionAttributeValues: {
              ':events': pruneUndefined(appendDeliveryEvents(current, input.events)),
              ':ids': rememberEventId(ids, input.eventId),
              ':next': version + 1,
              ':v': version,
              ':pm': input.providerMessageId,
            },
          }),
        ),
      );
      if (written) return 'appended';
    }
    throw new AdapterError(`timeline of delivery ${input.messageId} kept changing; gave up`);
  }

  return {
    suppressedAmong,
    putSuppression,
    getSuppression,
    deleteSuppression,
    listSuppressions,
    appendEvents,
  };
}

/** A suppression listing's position: the last address shown, base64url. */
function addressOfCursor(cursor: string): string {
  const bad = () => new InvalidCursorError('cursor does not belong to this suppression list');
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw bad();
  const address = Buffer.from(cursor, 'base64url').toString('utf8');
  if (suppressionAddress(address) !== address) throw bad();
  return address;
}

function suppressionFromItem(item: Item): Suppression {
  const { pk: _pk, sk, ...rest } = item;
  if (typeof sk !== 'string' || typeof rest.reason !== 'string') {
    throw new AdapterError('SUPPRESS item is malformed');
  }
  return { ...(rest as Omit<Suppression, 'address'>), address: sk };
}
