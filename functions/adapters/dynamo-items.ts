import type {
  DeliveryStatus,
  FallbackReason,
  HealthState,
  MessageKind,
  RecipientRefusal,
  Route,
  SenderConfig,
} from '../core/types';
import { AdapterError } from './errors';

/**
 * Keys and item <-> type mapping for the one table (docs/design.md §7 DynamoDB table). No I/O here: the store in
 * dynamo-store.ts does the calls, this file decides what an item looks like.
 */

export const SENDER_SK = 'SENDER';
export const HEALTH_SK = 'HEALTH';
export const CLAIM_SK = 'CLAIM';
export const OWNER_SK = 'OWNER';
export const COUNTER_SK = 'COUNTER';
export const DELIVERY_PREFIX = 'DELIVERY#';

/** Delivery items and idempotency claims live 30 days (TTL attribute `expiresAt`, epoch seconds). */
export const RETENTION_SECONDS = 30 * 24 * 60 * 60;

/** One message's delivery record: the `TENANT#<id>` / `DELIVERY#<iso>#<messageId>` item, without keys. */
export interface DeliveryRecord {
  /** `DELIVERY#<iso time of first attempt>#<messageId>` (see `deliverySkFor`). */
  sk: string;
  /** The message's idempotencyKey (defaults to the SQS message id). */
  messageId: string;
  kind: MessageKind;
  route: Route | null;
  fallbackReason: FallbackReason | null;
  status: DeliveryStatus;
  accepted: string[];
  rejected: RecipientRefusal[];
  providerMessageId?: string;
  /** The last SMTP/SES response line; never a password. */
  response?: string;
  attempts: number;
  /** Of `attempts`, those that ended held (fallback policy `hold`): exempt from MAX_ATTEMPTS. */
  heldAttempts?: number;
  timings: { totalMs: number; tenantMs?: number; sesMs?: number };
  possibleDuplicate?: boolean;
  detail?: string;
  /** ISO 8601 UTC time this record was written. */
  at: string;
}

/** Statuses after which a message is never sent again. */
export const FINAL_STATUSES: readonly DeliveryStatus[] = ['sent', 'partial', 'rejected', 'dead'];

/** Whether a delivery status means the message is finished (a redelivery must send nothing). */
export function isFinalStatus(status: DeliveryStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export type Item = Record<string, unknown>;

/** Partition key of everything a tenant owns. */
export function tenantPk(tenantId: string): string {
  return `TENANT#${tenantId}`;
}

/** Partition key of a tenant's idempotency claim (tenant ids carry no '#', so the key is unambiguous). */
export function claimPk(tenantId: string, key: string): string {
  return `IDEMP#${tenantId}#${key}`;
}

/** Partition key of a sender domain's owner item; domain names compare case-insensitively. */
export function domainPk(name: string): string {
  return `DOMAIN#${name.toLowerCase()}`;
}

/** Partition key of one rate-limit window. */
export function ratePk(key: string, windowStartSeconds: number): string {
  return `RATE#${key}#${windowStartSeconds}`;
}

/** The delivery item's sort key: sorts by first attempt, so a Query backwards lists newest first. */
export function deliverySkFor(isoFirstAttempt: string, messageId: string): string {
  return `${DELIVERY_PREFIX}${isoFirstAttempt}#${messageId}`;
}

/** Epoch seconds `RETENTION_SECONDS` after `nowMs`, for `expiresAt`. */
export function retentionExpiry(nowMs: number): number {
  return Math.floor(nowMs / 1000) + RETENTION_SECONDS;
}

/** TTL deletion is lazy (and never happens locally), so every reader checks `expiresAt` itself. */
export function isExpired(item: Item, nowMs: number): boolean {
  return typeof item.expiresAt === 'number' && item.expiresAt * 1000 <= nowMs;
}

/** Drops undefined values at any depth: the document client refuses them unless told otherwise. */
export function pruneUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => pruneUndefined(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Item = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = pruneUndefined(v);
    }
    return out as T;
  }
  return value;
}

const SENDER_MODES = new Set(['platform', 'domain', 'smtp']);

/** The SENDER item for a config (tenantId kept on the item for readability in the console). */
export function senderToItem(config: SenderConfig): Item {
  return pruneUndefined({ ...config, pk: tenantPk(config.tenantId), sk: SENDER_SK });
}

/** A SENDER item as a config; a `{ mode: 'platform' }` item (after DELETE) is a platform config. */
export function senderFromItem(tenantId: string, item: Item): SenderConfig {
  if (typeof item.mode !== 'string' || !SENDER_MODES.has(item.mode) || typeof item.version !== 'number') {
    throw new AdapterError(`SENDER item of tenant ${tenantId} is malformed`);
  }
  const config: SenderConfig = {
    tenantId,
    mode: item.mode as SenderConfig['mode'],
    fallback: item.fallback === 'hold' ? 'hold' : 'platform',
    version: item.version,
    updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : '',
  };
  if (item.smtp !== undefined && item.smtp !== null) config.smtp = item.smtp as SenderConfig['smtp'];
  if (item.domain !== undefined && item.domain !== null)
    config.domain = item.domain as SenderConfig['domain'];
  return config;
}

/**
 * The HEALTH item. Null fields are left off rather than stored as NULL, so conditions can use
 * `attribute_not_exists(probeLeaseUntil)` (a NULL attribute exists and compares with nothing).
 */
export function healthToItem(tenantId: string, health: HealthState): Item {
  const item: Item = { pk: tenantPk(tenantId), sk: HEALTH_SK };
  for (const [k, v] of Object.entries(health)) {
    if (v !== null && v !== undefined) item[k] = pruneUndefined(v);
  }
  return item;
}

/** A HEALTH item as state; absent fields are null (or 0 for counters). */
export function healthFromItem(item: Item): HealthState {
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    state: item.state === 'unhealthy' ? 'unhealthy' : 'healthy',
    configVersion: num(item.configVersion),
    consecutiveFailures: num(item.consecutiveFailures),
    backoffLevel: num(item.backoffLevel),
    retryAt: str(item.retryAt),
    probeLeaseUntil: str(item.probeLeaseUntil),
    lastFailure: (item.lastFailure ?? null) as HealthState['lastFailure'],
    lastSuccessAt: str(item.lastSuccessAt),
  };
}

/** The delivery item for a record. */
export function deliveryToItem(tenantId: string, record: DeliveryRecord, nowMs: number): Item {
  return pruneUndefined({ ...record, pk: tenantPk(tenantId), expiresAt: retentionExpiry(nowMs) });
}

/** A delivery item as a record (keys and TTL stripped). */
export function deliveryFromItem(item: Item): DeliveryRecord {
  const { pk: _pk, expiresAt: _expiresAt, ...rest } = item;
  if (typeof rest.sk !== 'string' || typeof rest.messageId !== 'string') {
    throw new AdapterError('DELIVERY item is malformed');
  }
  return rest as unknown as DeliveryRecord;
}
