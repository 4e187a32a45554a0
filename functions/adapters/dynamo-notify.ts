import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AlertEventType, NotificationLogEntry, NotificationSettings } from '../core/alerts';
import { AdapterError, InvalidLogCursorError } from '../core/errors';
import type { NotifyStore } from '../core/ports';
import { type Clock, DLQ_REASONS } from '../core/types';
import { conditional, conditionHeld } from './dynamo-conditions';
import {
  DELIVERY_PREFIX,
  type Item,
  isExpired,
  pruneUndefined,
  retentionExpiry,
  tenantPk,
} from './dynamo-items';

/**
 * Alert items (issue 14). They live under their own pk, `NOTIFY#<tenantId>`, so the dispatcher's one
 * Query of `TENANT#<id>` (`sk BETWEEN "HEALTH" AND "SENDER"`) never reads them:
 * - `SETTINGS`: emails, webhook {url, secretCiphertext}, events, version, updatedAt
 * - `OUTAGE`: since, lastAlertAt, configVersion, while the breaker is open (for reminders and recovery)
 * - `DEADLETTER#<window start>`: count, n_<reason>, lastMessageId (one 15-minute window)
 * - `LOG#<event createdAt>#<eventId>#<channel>`: one channel's delivery of one event, 30-day TTL
 * The platform channel's log lives under `NOTIFY#~platform` ('~' is never in a tenant id).
 */
const SETTINGS_SK = 'SETTINGS';
const OUTAGE_SK = 'OUTAGE';
const LOG_PREFIX = 'LOG#';
const DEAD_LETTER_PREFIX = 'DEADLETTER#';
const PLATFORM = '~platform';

/** Pages of delivery items read to count an outage's messages; past this the counts are lower bounds. */
const MAX_COUNT_PAGES = 20;

function notifyPk(tenantId: string | null): string {
  return `NOTIFY#${tenantId ?? PLATFORM}`;
}

export interface NotifyStoreOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: Clock;
}

function settingsFromItem(tenantId: string, item: Item): NotificationSettings {
  if (typeof item.version !== 'number') throw new AdapterError(`SETTINGS item of ${tenantId} is malformed`);
  const webhook = item.webhook as NotificationSettings['webhook'] | undefined;
  return {
    tenantId,
    emails: Array.isArray(item.emails) ? (item.emails as string[]) : [],
    webhook: webhook && typeof webhook.url === 'string' ? webhook : null,
    events: Array.isArray(item.events) ? (item.events as AlertEventType[]) : [],
    version: item.version,
    updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : '',
  };
}

function logFromItem(item: Item): NotificationLogEntry {
  const { pk: _pk, sk: _sk, expiresAt: _e, ...rest } = item;
  return rest as unknown as NotificationLogEntry;
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (cursor.length === 0 || cursor.length > 800 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidLogCursorError();
  }
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sk.startsWith(LOG_PREFIX) || encodeCursor(sk) !== cursor) throw new InvalidLogCursorError();
  return sk;
}

/** Builds the alert store over an injected document client. */
export function createNotifyStore({ doc, tableName, clock }: NotifyStoreOptions): NotifyStore {
  const get = async (pk: string, sk: string): Promise<Item | null> => {
    const out = await doc.send(
      new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return out.Item && !isExpired(out.Item, clock.now()) ? out.Item : null;
  };
  const logSk = (e: Pick<NotificationLogEntry, 'eventCreatedAt' | 'eventId' | 'channel'>) =>
    `${LOG_PREFIX}${e.eventCreatedAt}#${e.eventId}#${e.channel}`;

  return {
    async getSettings(tenantId) {
      const item = await get(notifyPk(tenantId), SETTINGS_SK);
      return item ? settingsFromItem(tenantId, item) : null;
    },

    async putSettings(settings, expectedVersion) {
      const item = pruneUndefined({ ...settings, pk: notifyPk(settings.tenantId), sk: SETTINGS_SK });
      await conditional(`notification settings of ${settings.tenantId} changed meanwhile`, () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression:
              expectedVersion === 0 ? 'attribute_not_exists(pk) OR #v = :zero' : '#v = :expected',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues:
              expectedVersion === 0 ? { ':zero': 0 } : { ':expected': expectedVersion },
          }),
        ),
      );
    },

    async deleteSettings(tenantId) {
      await doc.send(
        new DeleteCommand({ TableName: tableName, Key: { pk: notifyPk(tenantId), sk: SETTINGS_SK } }),
      );
    },

    async putLog(tenantId, entry) {
      const item = pruneUndefined({
        ...entry,
        pk: notifyPk(tenantId),
        sk: logSk(entry),
        expiresAt: retentionExpiry(clock.now()),
      });
      await doc.send(new PutCommand({ TableName: tableName, Item: item }));
    },

    async eventLog(tenantId, eventCreatedAt, eventId) {
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': notifyPk(tenantId),
            ':prefix': `${LOG_PREFIX}${eventCreatedAt}#${eventId}#`,
          },
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []).map(logFromItem);
    },

    async listLog(tenantId, page) {
      const start = page.cursor === null ? undefined : decodeCursor(page.cursor);
      const out = await doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': notifyPk(tenantId), ':prefix': LOG_PREFIX },
          ScanIndexForward: false,
          Limit: page.limit,
          ...(start !== undefined && { ExclusiveStartKey: { pk: notifyPk(tenantId), sk: start } }),
        }),
      );
      const now = clock.now();
      const items = (out.Items ?? []).filter((i) => !isExpired(i, now)).map(logFromItem);
      const last = out.LastEvaluatedKey?.sk;
      return { items, cursor: typeof last === 'string' ? encodeCursor(last) : null };
    },

    async openOutage(tenantId, configVersion, nowMs) {
      const since = new Date(nowMs).toISOString();
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: notifyPk(tenantId), sk: OUTAGE_SK, since, lastAlertAt: since, configVersion },
        }),
      );
    },

    async claimReminder(tenantId, nowMs, intervalMs) {
      const now = new Date(nowMs).toISOString();
      const cut = new Date(nowMs - intervalMs).toISOString();
      const claimed: { since?: string } = {};
      const held = await conditionHeld(async () => {
        const out = await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: notifyPk(tenantId), sk: OUTAGE_SK },
            UpdateExpression: 'SET #last = :now, #since = if_not_exists(#since, :now)',
            ConditionExpression: 'attribute_not_exists(#last) OR #last <= :cut',
            ExpressionAttributeNames: { '#last': 'lastAlertAt', '#since': 'since' },
            ExpressionAttributeValues: { ':now': now, ':cut': cut },
            ReturnValues: 'ALL_NEW',
          }),
        );
        claimed.since = typeof out.Attributes?.since === 'string' ? out.Attributes.since : now;
      });
      return held && claimed.since !== undefined ? { since: claimed.since } : null;
    },

    async closeOutage(tenantId) {
      // An update, not a delete: the dispatcher holds no DeleteItem (docs/design.md §7).
      const out = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: notifyPk(tenantId), sk: OUTAGE_SK },
          UpdateExpression: 'REMOVE #since, #last',
          ExpressionAttributeNames: { '#since': 'since', '#last': 'lastAlertAt' },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const since = out.Attributes?.since;
      return typeof since === 'string' ? { since } : null;
    },

    async addDeadLetter(tenantId, windowStart, reason, messageId) {
      const known = (DLQ_REASONS as readonly string[]).includes(reason) ? reason : 'other';
      const out = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: notifyPk(tenantId), sk: `${DEAD_LETTER_PREFIX}${windowStart}` },
          UpdateExpression: `ADD #count :one, #r :one SET #exp = :exp${messageId === null ? '' : ', #last = :last'}`,
          ExpressionAttributeNames: {
            '#count': 'count',
            '#r': `n_${known}`,
            '#exp': 'expiresAt',
            ...(messageId !== null && { '#last': 'lastMessageId' }),
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':exp': retentionExpiry(clock.now()),
            ...(messageId !== null && { ':last': messageId }),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { first: out.Attributes?.count === 1 };
    },

    async deadLetters(tenantId, windowStart) {
      const item = await get(notifyPk(tenantId), `${DEAD_LETTER_PREFIX}${windowStart}`);
      const reasons: Record<string, number> = {};
      for (const [k, v] of Object.entries(item ?? {})) {
        if (k.startsWith('n_') && typeof v === 'number') reasons[k.slice(2)] = v;
      }
      return {
        count: typeof item?.count === 'number' ? item.count : 0,
        reasons,
        lastMessageId: typeof item?.lastMessageId === 'string' ? item.lastMessageId : null,
      };
    },

    async countOutage(tenantId, since, until) {
      let viaFallback = 0;
      let held = 0;
      let start: Record<string, unknown> | undefined;
      for (let page = 0; page < MAX_COUNT_PAGES; page += 1) {
        const out = await doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': tenantPk(tenantId),
              ':from': `${DELIVERY_PREFIX}${since}`,
              ':to': `${DELIVERY_PREFIX}${until}~`,
            },
            ProjectionExpression: '#route, #status, #reason',
            ExpressionAttributeNames: { '#route': 'route', '#status': 'status', '#reason': 'fallbackReason' },
            ...(start !== undefined && { ExclusiveStartKey: start }),
          }),
        );
        for (const item of out.Items ?? []) {
          if (item.status === 'held') held += 1;
          else if ((item.route === 'platform' || item.route === 'split') && item.fallbackReason)
            viaFallback += 1;
        }
        start = out.LastEvaluatedKey;
        if (!start) break;
      }
      return { viaFallback, held };
    },
  };
}
