/**
 * Per-tenant suppression and the delivery timeline (docs/design.md §19 Delivery events and suppression).
 * Pure decisions: which outcome suppresses an address, how an address is keyed, how the bounded
 * `events` list of a delivery grows.
 */
import { parseEnhancedStatus, parseResponseCode } from './classify';
import { normalizeAddress } from './message';
import type { RecipientRefusal } from './types';

export const SUPPRESSION_REASONS = ['bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
export const SUPPRESSION_SOURCES = ['ses', 'smtp', 'api'] as const;
export type SuppressionSource = (typeof SUPPRESSION_SOURCES)[number];

/** One suppressed address of one tenant (the `SUPPRESS#<tenantId>` / `<address>` item). */
export interface Suppression {
  /** Normalised: lower case, punycoded domain (`suppressionAddress`). */
  address: string;
  reason: SuppressionReason;
  source: SuppressionSource;
  /** ISO 8601 UTC. */
  at: string;
  /** The delivery (idempotency key) whose outcome suppressed the address. */
  messageId?: string;
  /** The bounce type and diagnostic, or the server's refusal, at most 500 characters. */
  detail?: string;
}

export const DELIVERY_EVENT_TYPES = ['delivered', 'bounced', 'complained', 'rejected', 'delayed'] as const;
export type DeliveryEventType = (typeof DELIVERY_EVENT_TYPES)[number];

/** One entry of a delivery's `events` timeline. */
export interface DeliveryEvent {
  type: DeliveryEventType;
  /** ISO 8601 UTC time of the event (as its reporter dated it). */
  at: string;
  /** The recipient it concerns; null when the event names none (a rejected message). */
  recipient: string | null;
  detail?: { bounceType?: string; bounceSubType?: string; diagnosticCode?: string };
}

/** A delivery keeps its newest events only. */
export const MAX_DELIVERY_EVENTS = 20;
/** And remembers this many event ids, so a redelivered event is never appended twice. */
export const MAX_REMEMBERED_EVENT_IDS = 100;
/** Suppression details are cut to this many characters. */
export const MAX_SUPPRESSION_DETAIL_CHARS = 500;

/**
 * The key of an address in a suppression list: the queue message's normaliser (bare address, punycoded
 * domain), then lower case. Null when it is not an address the dispatcher would send to.
 */
export function suppressionAddress(input: string): string | null {
  const normal = normalizeAddress(input.trim());
  return normal.ok ? normal.address.toLowerCase() : null;
}

/**
 * A tenant SMTP server's refusal at RCPT that suppresses the address for that tenant: a permanent
 * 5.1.x (no such mailbox, bad address). Other final refusals (5.2.1 disabled, 5.2.2 full) stay final
 * for the message but may heal, so they do not suppress.
 */
export function suppressesAfterRefusal(refusal: RecipientRefusal): boolean {
  const code = refusal.responseCode ?? parseResponseCode(refusal.response);
  if (code !== undefined && code < 500) return false;
  const enhanced = parseEnhancedStatus(refusal.response, code);
  return enhanced !== null && /^5\.1\.\d+$/.test(enhanced);
}

/** Appends new events (oldest first) and keeps the newest MAX_DELIVERY_EVENTS. */
export function appendDeliveryEvents(current: DeliveryEvent[], added: DeliveryEvent[]): DeliveryEvent[] {
  return [...current, ...added].slice(-MAX_DELIVERY_EVENTS);
}

/** Remembers an event id, keeping the newest MAX_REMEMBERED_EVENT_IDS. */
export function rememberEventId(ids: string[], id: string): string[] {
  return [...ids, id].slice(-MAX_REMEMBERED_EVENT_IDS);
}

/** Cuts a detail to what a suppression item keeps. */
export function suppressionDetail(text: string): string {
  return text.slice(0, MAX_SUPPRESSION_DETAIL_CHARS);
}

// ─── Port: the suppression list and the delivery timeline (implemented by the DynamoDB adapter) ───

/** One recipient of one tenant, as the dispatcher looks it up. */
export interface SuppressedPair {
  tenantId: string;
  /** A key from `suppressionAddress`. */
  address: string;
}

export interface SuppressionPage {
  items: Suppression[];
  /** Opaque position of the next page, or null when there is none. */
  cursor: string | null;
}

export interface SuppressionStore {
  /**
   * Which pairs are suppressed, as `<tenantId>\n<address>` strings: one BatchGetItem per 100 distinct
   * keys (a batch of 10 messages × 50 recipients is 5 calls).
   */
  suppressedAmong(pairs: SuppressedPair[]): Promise<Set<string>>;
  /** Adds (or replaces) a tenant's entry for `entry.address`. */
  putSuppression(tenantId: string, entry: Suppression): Promise<void>;
  getSuppression(tenantId: string, address: string): Promise<Suppression | null>;
  /** False when there was no such entry. */
  deleteSuppression(tenantId: string, address: string): Promise<boolean>;
  /** In address order. A cursor this store did not hand out throws InvalidCursorError. */
  listSuppressions(
    tenantId: string,
    page: { limit: number; cursor?: string | null },
  ): Promise<SuppressionPage>;
  /**
   * Appends a delivery event's entries to the delivery's timeline (newest MAX_DELIVERY_EVENTS), once per
   * `eventId`. `not-recorded`: no delivery with that SES message id is recorded (yet); try again later.
   */
  appendEvents(input: {
    tenantId: string;
    messageId: string;
    providerMessageId: string;
    eventId: string;
    events: DeliveryEvent[];
  }): Promise<'appended' | 'duplicate' | 'not-recorded'>;
}

/** The string `suppressedAmong` answers for a pair. */
export function suppressedKey(tenantId: string, address: string): string {
  return `${tenantId}\n${address}`;
}
