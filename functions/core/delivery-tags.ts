/**
 * The SES message tags that let a delivery event find its delivery item (docs/design.md §13 Sender
 * identity, §19 Delivery events and suppression). Pure.
 *
 * SES tag values allow only ASCII letters, digits, `_` and `-`, at most 256 characters. A tenant id
 * already fits (§6). A messageId (the idempotency key: up to 128 characters of any kind) is carried as
 * base64url of its UTF-8 bytes, without padding: that alphabet is exactly the allowed one. A key whose
 * encoding is longer than one value continues in `messageId2`, `messageId3`.
 */
import { TENANT_ID_PATTERN } from './message';

export const TENANT_TAG = 'tenantId';
export const MESSAGE_ID_TAG = 'messageId';
export const MAX_TAG_VALUE_CHARS = 256;
/** 128 characters of up to 4 UTF-8 bytes each encode to at most 683 characters: three values. */
const MAX_MESSAGE_ID_PARTS = 3;

export interface SesTag {
  Name: string;
  Value: string;
}

/** The tag names of a messageId's parts: `messageId`, `messageId2`, `messageId3`. */
function partName(index: number): string {
  return index === 0 ? MESSAGE_ID_TAG : `${MESSAGE_ID_TAG}${index + 1}`;
}

/** The tags naming a delivery: its tenant and its messageId (encoded, split across tags as needed). */
export function deliveryTags(tenantId: string, messageId: string): SesTag[] {
  const encoded = Buffer.from(messageId, 'utf8').toString('base64url');
  const tags: SesTag[] = [{ Name: TENANT_TAG, Value: tenantId }];
  for (let i = 0; i * MAX_TAG_VALUE_CHARS < encoded.length; i += 1) {
    const value = encoded.slice(i * MAX_TAG_VALUE_CHARS, (i + 1) * MAX_TAG_VALUE_CHARS);
    tags.push({ Name: partName(i), Value: value });
  }
  return tags;
}

/** A delivery as its tags name it. */
export interface DeliveryRef {
  tenantId: string;
  messageId: string;
}

/**
 * Reads the delivery back from an SES event's `mail.tags` (each name maps to a list of values, SES's
 * shape). Null when the tags do not name a delivery of ours (absent, or not what `deliveryTags` wrote).
 */
export function deliveryRefFromTags(
  tags: Record<string, string[] | undefined> | undefined,
): DeliveryRef | null {
  const tenantId = tags?.[TENANT_TAG]?.[0];
  const first = tags?.[MESSAGE_ID_TAG]?.[0];
  if (!tenantId || !TENANT_ID_PATTERN.test(tenantId) || !first) return null;
  let encoded = first;
  for (let i = 1; i < MAX_MESSAGE_ID_PARTS; i += 1) {
    const part = tags?.[partName(i)]?.[0];
    if (!part) break;
    encoded += part;
  }
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  const messageId = Buffer.from(encoded, 'base64url').toString('utf8');
  // A value that was not written by deliveryTags does not round-trip (stray bits, invalid UTF-8).
  if (!messageId || Buffer.from(messageId, 'utf8').toString('base64url') !== encoded) return null;
  return { tenantId, messageId };
}
