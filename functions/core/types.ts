/** Shared vocabulary of the contract (docs/design.md). Pure types and constants, no I/O. */
import type { OAuth2Settings, SendingLimits } from './oauth2';

export const FAILURE_CLASSES = [
  'connection',
  'tls',
  'auth',
  'credentials',
  'config-invalid',
  'server-temporary',
  'server-throttled',
  'server-rejected',
  'uncertain',
  'recipient-rejected',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/**
 * Where in the tenant SMTP conversation a failure happened, as the sender observed it.
 * `CONFIG` is the network guard / config check, `DECRYPT` the KMS step, `TOKEN` the OAuth2 token
 * endpoint (before any SMTP), `MESSAGE` the wait for the reply after the final "." (a loss there is
 * `uncertain`).
 */
export const SMTP_PHASES = [
  'CONFIG',
  'DECRYPT',
  'TOKEN',
  'CONNECT',
  'GREETING',
  'EHLO',
  'STARTTLS',
  'AUTH',
  'MAIL',
  'RCPT',
  'DATA',
  'MESSAGE',
] as const;
export type SmtpPhase = (typeof SMTP_PHASES)[number];

/**
 * What the tenant's admin must do: `reconsent` (the refresh token was revoked or expired: sign in again),
 * `use-oauth2` (the provider refuses passwords: switch the sender to OAuth2).
 */
export const FAILURE_HINTS = ['reconsent', 'use-oauth2'] as const;
export type FailureHint = (typeof FAILURE_HINTS)[number];

/** A failure as data, in nodemailer's shape: stable code, phase, the server's words. Never a password. */
export interface FailureRecord {
  class: FailureClass;
  code: string;
  phase: SmtpPhase;
  message: string;
  responseCode?: number;
  hint?: FailureHint;
}

export type SenderMode = 'platform' | 'domain' | 'smtp';
export type FallbackPolicy = 'platform' | 'hold';
export type SmtpSecurity = 'tls' | 'starttls' | 'none';
export type MessageKind = 'notification' | 'autoresponder' | 'digest';

export type Route = 'smtp' | 'domain' | 'platform' | 'split';
/**
 * The platform, not the tenant, kept the tenant path from being tried: KMS could not decrypt the
 * password in time (throttled, failing, unreachable). The breaker never hears of it.
 */
export type PlatformFault = 'kms-unavailable' | 'ses-paused';
/** `rate-limited`: the tenant's sending limit (docs/design.md §21) kept its own path from being used. */
export type FallbackReason =
  | 'no-config'
  | 'unhealthy'
  | 'domain-unverified'
  | 'rate-limited'
  | PlatformFault
  | FailureClass;
/** `delayed`: over the tenant's perMinute limit, waiting for a later minute (not an attempt). */
export type DeliveryStatus =
  | 'sent'
  | 'partial'
  | 'rejected'
  | 'suppressed'
  | 'held'
  | 'delayed'
  | 'retrying'
  | 'dead';

/** Statuses after which a message is never sent again. */
export const FINAL_STATUSES: readonly DeliveryStatus[] = [
  'sent',
  'partial',
  'rejected',
  'suppressed',
  'dead',
];

/** Whether a delivery status means the message is finished (a redelivery must send nothing). */
export function isFinalStatus(status: DeliveryStatus): boolean {
  return FINAL_STATUSES.includes(status);
}
/**
 * Why the dispatcher dead-lettered a message: `idempotency-conflict` is a message reusing an idempotency
 * key with other content (docs/design.md §12).
 */
export const DLQ_REASONS = ['validation', 'undeliverable', 'held-expired', 'idempotency-conflict'] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

/** An OAuth2 login as stored: the settings plus its secrets as KMS ciphertext (context purpose `smtp-oauth`). */
export interface StoredOAuth2 extends OAuth2Settings {
  clientSecretCiphertext: string;
  /** refresh-token flow only; replaced in place (same config version) when the provider rotates it. */
  refreshTokenCiphertext?: string;
}

export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  /** base64 KMS ciphertext; never the password itself. Exactly one of it and `oauth2` is set. */
  passwordCiphertext?: string;
  oauth2?: StoredOAuth2;
  /** Sending limits configured for the tenant (the provider's defaults apply where unset). */
  limits?: SendingLimits;
  fromAddress: string;
  fromName?: string;
}

export interface DomainSettings {
  name: string;
  fromAddress: string;
  fromName?: string;
}

/** The `TENANT#<id>` / `SENDER` item. */
export interface SenderConfig {
  tenantId: string;
  mode: SenderMode;
  fallback: FallbackPolicy;
  smtp?: SmtpSettings;
  domain?: DomainSettings;
  version: number;
  updatedAt: string;
}

export type HealthStateName = 'healthy' | 'unhealthy';

/** The `TENANT#<id>` / `HEALTH` item. Times are ISO 8601 UTC strings. */
export interface HealthState {
  state: HealthStateName;
  configVersion: number;
  consecutiveFailures: number;
  backoffLevel: number;
  retryAt: string | null;
  probeLeaseUntil: string | null;
  lastFailure: (FailureRecord & { at: string }) | null;
  lastSuccessAt: string | null;
}

/** Time source; injected everywhere so tests holding real sockets never need fake timers. */
export interface Clock {
  /** epoch milliseconds */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The health of a tenant never seen. */
export function initialHealth(configVersion: number): HealthState {
  return {
    state: 'healthy',
    configVersion,
    consecutiveFailures: 0,
    backoffLevel: 0,
    retryAt: null,
    probeLeaseUntil: null,
    lastFailure: null,
    lastSuccessAt: null,
  };
}

/**
 * A tenant SMTP failure as the sender observed it, before classification: nodemailer's error fields
 * plus the phase the sender itself tracked (nodemailer reports a drop after the final "." as
 * `ECONNECTION`/`CONN`, so only the sender knows it was `MESSAGE`). `classifySmtpFailure` decides.
 */
export interface SmtpErrorInfo {
  phase: SmtpPhase;
  code?: string;
  responseCode?: number;
  command?: string;
  response?: string;
  message: string;
  /** Classified already where it happened (the token endpoint, phase `TOKEN`): taken as is. */
  failure?: FailureRecord;
}

/** One recipient the tenant server refused at RCPT. */
export interface RecipientRefusal {
  address: string;
  responseCode?: number;
  response?: string;
}
