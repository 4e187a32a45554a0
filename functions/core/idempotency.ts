import { createHash } from 'node:crypto';
import type { QueueMessage } from './message';

/**
 * The content hash an idempotency claim stores (as Powertools idempotency validates its payload): the
 * same key with the same content is a duplicate, the same key with other content a conflict
 * (docs/design.md §12). Computed over the validated message with its keys sorted, so two producers
 * writing the same message with fields in another order agree.
 */
export function contentHash(message: QueueMessage): string {
  return createHash('sha256').update(canonicalJson(message)).digest('base64url');
}

/** JSON with object keys sorted at every depth; undefined members left out, as JSON.stringify does. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
