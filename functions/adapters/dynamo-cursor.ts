import { InvalidCursorError } from '../core/errors';
import { DELIVERY_PREFIX, type Item, tenantPk } from './dynamo-items';

/** A delivery listing's position: DynamoDB's LastEvaluatedKey inside the tenant's partition. */
export interface DeliveryKey {
  pk: string;
  sk: string;
}

const MAX_CURSOR_CHARS = 1024;
const MAX_SK_CHARS = 600;

/**
 * The opaque cursor for a page's last key: base64url JSON of `{ pk, sk }`. It is bound to its tenant on
 * the way back in (decodeCursor), so it can only ever start a Query inside the caller's own partition;
 * no secret is needed for that, and cursors stay valid across Lambda containers.
 */
export function encodeCursor(key: DeliveryKey): string {
  return Buffer.from(JSON.stringify({ pk: key.pk, sk: key.sk }), 'utf8').toString('base64url');
}

/** The cursor of a Query's last key, or null when the key is not a delivery key (or absent). */
export function cursorOf(key: Item | null | undefined): string | null {
  if (!key || typeof key.pk !== 'string' || typeof key.sk !== 'string') return null;
  return encodeCursor({ pk: key.pk, sk: key.sk });
}

/**
 * The key a cursor stands for, checked against the tenant it is used for: garbled, forged or foreign
 * (another tenant's pk, a key outside the delivery items) → InvalidCursorError.
 */
export function decodeCursor(tenantId: string, cursor: string): DeliveryKey {
  const bad = () => new InvalidCursorError('cursor does not belong to this delivery log');
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw bad();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad();
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || !keys.includes('pk') || !keys.includes('sk')) throw bad();
  const { pk, sk } = parsed as Record<string, unknown>;
  if (pk !== tenantPk(tenantId)) throw bad();
  if (typeof sk !== 'string' || !sk.startsWith(DELIVERY_PREFIX) || sk.length > MAX_SK_CHARS) throw bad();
  return { pk, sk };
}
