import type { AlertEvent, DeadLetteredData, NotificationLogEntry, NotificationSettings } from './alerts';
import type { VettedTarget } from './ports';

/** Tenant alerts' ports (docs/design.md §18): the alert store, the channels, the webhook secret's cipher. */

/** One channel's outcome for one event, as the test route answers it and the log keeps it. */
export interface ChannelResult {
  channel: 'email' | 'webhook';
  target: string;
  ok: boolean;
  status?: number;
  message: string;
}

export interface AlertDelivery {
  /** One email to all of `to`, from the platform sender through SES (never the tenant's own server). */
  email(to: string[], event: AlertEvent): Promise<ChannelResult>;
  /** The tenant's webhook: decrypts its secret (KMS, tenant context) and POSTs the signed event. */
  webhook(webhook: NonNullable<NotificationSettings['webhook']>, event: AlertEvent): Promise<ChannelResult>;
  /** The platform operators' webhook (stack props), with its own secret. */
  platformWebhook(target: { url: string; secret: string }, event: AlertEvent): Promise<ChannelResult>;
}

export interface NotifyStore {
  getSettings(tenantId: string): Promise<NotificationSettings | null>;
  /** Conditional on the stored version being `expectedVersion` (0: none stored); ConditionFailedError else. */
  putSettings(settings: NotificationSettings, expectedVersion: number): Promise<void>;
  deleteSettings(tenantId: string): Promise<void>;
  /** Writes (or overwrites) one channel's log item of an event; `tenantId` null: the platform channel. */
  putLog(tenantId: string | null, entry: NotificationLogEntry): Promise<void>;
  /** The log items of one event (every channel), for a retry to skip channels already done. */
  eventLog(tenantId: string | null, eventCreatedAt: string, eventId: string): Promise<NotificationLogEntry[]>;
  /** Newest first; `cursor` is opaque and bound to the tenant. Throws InvalidLogCursorError. */
  listLog(
    tenantId: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ items: NotificationLogEntry[]; cursor: string | null }>;
  /** The breaker opened: the outage starts now (overwrites an older one). */
  openOutage(tenantId: string, configVersion: number, nowMs: number): Promise<void>;
  /** A reminder is due when the last alert of the outage is `intervalMs` old; claims it (one winner). */
  claimReminder(tenantId: string, nowMs: number, intervalMs: number): Promise<{ since: string } | null>;
  /** The breaker closed: ends the outage and says when it began (null when none was recorded). */
  closeOutage(tenantId: string): Promise<{ since: string } | null>;
  /** Counts a dead letter in its window; `first` when it is the window's first (the digest must be queued). */
  addDeadLetter(
    tenantId: string,
    windowStart: number,
    reason: string,
    messageId: string | null,
  ): Promise<{ first: boolean }>;
  deadLetters(tenantId: string, windowStart: number): Promise<DeadLetteredData>;
  /** Messages of an outage window [since, until]: sent through the platform fallback, and held. */
  countOutage(tenantId: string, since: string, until: string): Promise<{ viaFallback: number; held: number }>;
}

/**
 * A tenant secret other than the SMTP password (the webhook signing secret), encrypted under the
 * context `{ tenantId, purpose }`: KMS refuses the ciphertext under another tenant or another purpose.
 * No plaintext cache: the notifier decrypts once per delivery, far from the mail path.
 */
export interface SecretCipher {
  encrypt(tenantId: string, plaintext: string): Promise<string>;
  /** Fails (CredentialsError) for another tenant's or another purpose's ciphertext, or after `timeoutMs`. */
  decrypt(tenantId: string, ciphertextB64: string): Promise<string>;
}

export interface WebhookTarget {
  url: string;
  /** The signing secret; never logged, never part of a result. */
  secret: string;
}

/** One POST's outcome as data. `status` is the HTTP status when an answer came. */
export interface WebhookResult {
  ok: boolean;
  status?: number;
  message: string;
  durationMs: number;
}

export interface WebhookPoster {
  /** Vets the URL, POSTs the event signed; never throws. 2xx is success, anything else a failure. */
  post(target: WebhookTarget, event: AlertEvent): Promise<WebhookResult>;
  /** Checks a URL as a PUT does (syntax, then the guard on its host) without calling it; throws. */
  vetUrl(url: string): Promise<VettedTarget>;
}
