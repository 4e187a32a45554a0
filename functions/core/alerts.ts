/**
 * Tenant alerts (issue 14): what an alert event is, when one is due, and how its delivery is retried.
 * Pure: ids, HMACs and clocks come from the adapters.
 */
import type { ReputationWarningData } from './reputation';
import type { FailureHint, FailureRecord, FallbackPolicy, HealthState } from './types';
import { httpsUrlProblem, urlPort } from './url';

export const ALERT_EVENT_TYPES = [
  'sender.unhealthy',
  'sender.recovered',
  'sender.still-unhealthy',
  'messages.dead-lettered',
  'domain.verified',
  'domain.failed',
  'reputation.warning',
  'test',
] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

/** The types a tenant can subscribe to (`test` always goes to every channel). */
export const SUBSCRIBABLE_EVENT_TYPES: readonly AlertEventType[] = ALERT_EVENT_TYPES.filter(
  (t) => t !== 'test',
);

export interface UnhealthyData {
  lastFailure: Pick<FailureRecord, 'class' | 'code' | 'phase' | 'message'> & { hint?: FailureHint };
  retryAt: string | null;
  fallback: FallbackPolicy;
  configVersion: number;
}

export interface RecoveredData {
  unhealthySince: string;
  messagesViaFallback: number;
  messagesHeld: number;
}

export interface DeadLetteredData {
  count: number;
  reasons: Record<string, number>;
  lastMessageId: string | null;
}

/** A sender domain's verification changed (docs/design.md §20): the claim's new state. */
export interface DomainData {
  domain: string;
  status: 'verified' | 'failed';
  dkim: string;
  mailFrom: string;
}

export type AlertData =
  | UnhealthyData
  | RecoveredData
  | DeadLetteredData
  | DomainData
  | Record<string, unknown>;

/** The body both channels carry (the webhook's raw JSON; the email is written from it). */
export interface AlertEvent {
  id: string;
  type: AlertEventType;
  tenantId: string;
  createdAt: string;
  data: AlertData;
}

/** Event ids: `evt_` and 16..64 url-safe characters. */
export const EVENT_ID_PATTERN = /^evt_[A-Za-z0-9_-]{16,64}$/;

/** Delays (s) before delivery attempts 2..6: about 1 min, 5 min, 30 min, 2 h, 6 h. */
export const NOTIFY_RETRY_SECONDS: readonly number[] = [60, 300, 1_800, 7_200, 21_600];

/** Delivery attempts per channel before the log records it as failed. */
export const NOTIFY_MAX_ATTEMPTS = NOTIFY_RETRY_SECONDS.length + 1;

/** The delay before the next attempt after `attempts` failed ones; null: give up (record it failed). */
export function notifyRetryDelaySeconds(attempts: number): number | null {
  if (!Number.isInteger(attempts) || attempts < 1) return NOTIFY_RETRY_SECONDS[0] ?? null;
  return NOTIFY_RETRY_SECONDS[attempts - 1] ?? null;
}

/** At most one `messages.dead-lettered` per tenant per window; counts accumulate within it. */
export const DEAD_LETTER_WINDOW_SECONDS = 15 * 60;

/** The aligned window (epoch seconds of its start) a dead letter at `nowMs` counts in. */
export function deadLetterWindowStart(nowMs: number): number {
  const s = Math.floor(nowMs / 1000);
  return s - (s % DEAD_LETTER_WINDOW_SECONDS);
}

/** Epoch ms at which a window's digest is due: when the window has closed. */
export function deadLetterDigestDueAt(windowStartSeconds: number): number {
  return (windowStartSeconds + DEAD_LETTER_WINDOW_SECONDS) * 1000;
}

/** While unhealthy, `sender.still-unhealthy` repeats this long after the last alert of the outage. */
export const REMINDER_INTERVAL_MS = 24 * 60 * 60_000;

/** Whether a reminder is due: the last alert of this outage (opened or reminder) is 24 h old or more. */
export function reminderDue(lastAlertAtMs: number, nowMs: number): boolean {
  return nowMs - lastAlertAtMs >= REMINDER_INTERVAL_MS;
}

/** Whether a tenant's subscription covers an event; `test` is always delivered. */
export function subscribed(events: readonly AlertEventType[], type: AlertEventType): boolean {
  return type === 'test' || events.includes(type);
}

const HINT_ADVICE: Record<FailureHint, string> = {
  'use-oauth2': 'Your provider no longer takes a password for sending: switch the sender to OAuth2.',
  reconsent: 'The OAuth2 grant was revoked or expired: connect the mailbox again in your sender settings.',
};

const CLASS_ADVICE: Record<string, string> = {
  auth: 'Check the SMTP username and password in your sender settings; the server refused them.',
  tls: "Check that the server's certificate is valid for its host name and that the security setting (tls on 465, starttls on 587) matches the server.",
  connection:
    'Check that the host name and port are right and that the server accepts connections from the internet.',
  credentials: 'Enter the SMTP password again in your sender settings.',
  'config-invalid': 'Change the host or port in your sender settings to a public server on 465, 587 or 2525.',
  'server-throttled':
    'Your server is limiting how much we may send; raise the limit or wait for it to reset.',
  'server-temporary': 'Your server reported a temporary problem; check its logs and queue.',
  'server-rejected':
    'Your server refused our mail; check that this account may send from its address (relay and sender policies).',
  uncertain: 'Your server dropped the connection while taking a message; check its logs for the cause.',
};

/** What a tenant admin can do about a failure (a sentence): the failure's hint, else its class. */
export function adviceFor(failure: Pick<FailureRecord, 'class' | 'hint'>): string | undefined {
  return (failure.hint !== undefined ? HINT_ADVICE[failure.hint] : undefined) ?? CLASS_ADVICE[failure.class];
}

const WHAT_FAILED: Record<string, string> = {
  auth: 'your SMTP server refused login',
  tls: 'the TLS connection to your SMTP server failed',
  connection: 'your SMTP server could not be reached',
  credentials: 'your SMTP password could not be decrypted',
  'config-invalid': 'your SMTP server settings are not allowed',
  'server-throttled': 'your SMTP server is limiting our sending',
  'server-temporary': 'your SMTP server is failing temporarily',
  'server-rejected': 'your SMTP server refused our mail',
  uncertain: 'your SMTP server dropped the connection while taking mail',
};

/** A short phrase of what failed, for subjects: "your SMTP server refused login". */
export function whatFailed(failure: Pick<FailureRecord, 'class'>): string {
  return WHAT_FAILED[failure.class] ?? 'your SMTP server failed';
}

/** The `sender.unhealthy` data for a breaker that just opened. */
export function unhealthyData(input: {
  failure: Pick<FailureRecord, 'class' | 'code' | 'phase' | 'message' | 'hint'> | null;
  retryAt: string | null;
  fallback: FallbackPolicy;
  configVersion: number;
}): UnhealthyData {
  const f = input.failure ?? { class: 'connection', code: 'UNKNOWN', phase: 'CONNECT', message: '' };
  const hint = 'hint' in f ? f.hint : undefined;
  return {
    lastFailure: {
      class: f.class,
      code: f.code,
      phase: f.phase,
      message: f.message.slice(0, 500),
      ...(hint !== undefined && { hint }),
    },
    retryAt: input.retryAt,
    fallback: input.fallback,
    configVersion: input.configVersion,
  };
}

/** The string the webhook signature covers: `<unix seconds>.<raw body>`. */
export function signedPayload(unixSeconds: number, rawBody: string): string {
  return `${unixSeconds}.${rawBody}`;
}

/** The `Tenant-Mailer-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export function formatSignature(unixSeconds: number, hexDigest: string): string {
  return `t=${unixSeconds},v1=${hexDigest}`;
}

/** A signature header's parts; null when it is not `t=<digits>,v1=<hex>[,v1=…]`. */
export function parseSignature(header: string): { t: number; v1: string[] } | null {
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [key, value = ''] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
  }
  return t === null || v1.length === 0 ? null : { t, v1 };
}

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_CHARS = 2048;

/** What is wrong with a webhook URL before any DNS (see httpsUrlProblem). Null when it may be vetted. */
export function webhookUrlProblem(raw: string, allowHttp: boolean): string | null {
  return httpsUrlProblem(raw, allowHttp, MAX_WEBHOOK_URL_CHARS);
}

/** The port a webhook URL connects to. */
export const webhookPort = urlPort;

/** A tenant's alert settings (issue 14, "API"): the webhook secret only as KMS ciphertext. */
export interface NotificationSettings {
  tenantId: string;
  /** 0..5 bare addresses. */
  emails: string[];
  webhook: { url: string; secretCiphertext: string } | null;
  events: AlertEventType[];
  version: number;
  updatedAt: string;
}

/** One delivery of one event to one channel, as the notification log keeps it. */
export interface NotificationLogEntry {
  at: string;
  eventId: string;
  type: AlertEventType;
  /** When the event was made; with eventId and channel it names the log item. */
  eventCreatedAt: string;
  channel: 'email' | 'webhook';
  target: string;
  ok: boolean;
  status?: number;
  attempts: number;
  /** No more attempts will follow (success, or retries used up). */
  final: boolean;
  message?: string;
}

/**
 * What the dispatcher tells the alerts side (issue 14). Called only by the container whose conditional
 * HEALTH write made the transition, so N racing containers emit one event. Never throws: an alert that
 * cannot be queued is logged, and the mail goes on.
 */
export interface AlertEmitter {
  breakerChanged(input: {
    tenantId: string;
    transition: 'opened' | 'closed' | 'reopened';
    health: HealthState;
    previous: HealthState;
    fallback: FallbackPolicy;
  }): Promise<void>;
  deadLettered(input: { tenantId: string; reason: string; messageId: string | null }): Promise<void>;
  /** A domain claim's recorded change to verified or failed (the write that recorded it calls this once). */
  domainChanged(input: { tenantId: string } & DomainData): Promise<void>;
  /** The tenant is over an SES reputation rate (at most once a day, the events function's claim decides). */
  reputationWarning(input: { tenantId: string } & ReputationWarningData): Promise<void>;
}
