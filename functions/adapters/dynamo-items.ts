import { AdapterError } from '../core/errors';
import type { DeliveryRecord } from '../core/ports';
import type { HealthState, SenderConfig } from '../core/types';

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

/** Partition key of a tenant's sending-limit counters (one item per window, sort key the window). */
export function limitPk(tenantId: string): string {
  return `LIMIT#${tenantId}`;
}

/** Partition key of one rate-limit window. */
export function ratePk(key: string, windowStartSeconds: number): string {
  return `RATE#${key}#${windowStartSeconds}`;
}

/**
 * The delivery item's sort key, `DELIVERY#<iso time of first attempt>#<messageId>`: sorts by first
 * attempt, so a Query backwards lists newest first.
 */
export function deliverySkFor(isoFirstAttempt: string, messageId: string): string {
  return `${DELIVERY_PREFIX}${isoFirstAttempt}#${messageId}`;
}

/** The opaque delivery id handed out for a delivery sort key (the key without its prefix). */
export function deliveryIdOf(sk: string): string {
  return sk.slice(DELIVERY_PREFIX.length);
}

/** The delivery sort key of a delivery id this store handed out. */
export function deliverySkOf(deliveryId: string): string {
  return `${DELIVERY_PREFIX}${deliveryId}`;
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

/** The delivery item for a record: its id becomes the sort key again. */
export function deliveryToItem(tenantId: string, record: DeliveryRecord, nowMs: number): Item {
  const { id, ...rest } = record;
  return pruneUndefined({
    ...rest,
    pk: tenantPk(tenantId),
    sk: deliverySkOf(id),
    expiresAt: retentionExpiry(nowMs),
  });
}

/** A delivery item as a record (keys and TTL stripped, the sort key given back as the opaque id). */
export function deliveryFromItem(item: Item): DeliveryRecord {
  const { pk: _pk, sk, expiresAt: _expiresAt, ...rest } = item;
  if (typeof sk !== 'string' || !sk.startsWith(DELIVERY_PREFIX) || typeof rest.messageId !== 'string') {
    throw new AdapterError('DELIVERY item is malformed');
  }
  return { id: deliveryIdOf(sk), ...rest } as unknown as DeliveryRecord;
}
