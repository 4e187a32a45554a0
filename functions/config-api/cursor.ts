import { DELIVERY_PREFIX, tenantPk } from '../adapters/dynamo-items';
import { BadRequestError } from './errors';

/** A delivery listing's position: DynamoDB's LastEvaluatedKey of the tenant's partition. */
export interface DeliveryKey {
  pk: string;
  sk: string;
}

const MAX_CURSOR_CHARS = 1024;

/**
 * The opaque cursor for a page's last key: base64url JSON of `{ pk, sk }`. It is bound to its tenant on
 * the way back in (decodeCursor), so it can only ever start a Query inside the caller's own partition;
 * no secret is needed for that, and cursors stay valid across Lambda containers.
 */
export function encodeCursor(key: DeliveryKey): string {
  return Buffer.from(JSON.stringify({ pk: key.pk, sk: key.sk }), 'utf8').toString('base64url');
}

/**
 * The key a cursor stands for, checked against the tenant it is used for: garbled, forged or foreign
 * (another tenant's pk, a key outside the delivery items) → 400 `bad-request`.
 */
export function decodeCursor(tenantId: string, cursor: string): DeliveryKey {
  const bad = () => new BadRequestError('cursor is not valid for this listing', 'cursor');
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw bad();
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
  if (typeof sk !== 'string' || !sk.startsWith(DELIVERY_PREFIX) || sk.length > 600) throw bad();
  return { pk, sk };
}

/** The `limit` query parameter: default 20, an integer 1..100, else 400 `bad-request`. */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  if (!/^\d{1,3}$/.test(raw)) throw new BadRequestError('limit must be an integer from 1 to 100', 'limit');
  const limit = Number(raw);
  if (limit < 1 || limit > 100) throw new BadRequestError('limit must be an integer from 1 to 100', 'limit');
  return limit;
}
