import type { OAuth2Secrets, OAuth2Settings } from './oauth2';
import type { EventDlqReason } from './ses-events';
import type { DlqReason, RecipientRefusal, SmtpErrorInfo, SmtpSettings } from './types';

export type * from './alerts-port';
export * from './domains-port';
export type * from './store-port';

/**
 * The ports the handlers (dispatcher, config API) depend on; adapters implement them and keep their
 * storage and wire details (table keys, cursors, SDK errors) to themselves. Pure types: no I/O, no SDK,
 * nothing imported from adapters or handlers. Failures a caller must tell apart are the errors in
 * core/errors.ts.
 */

// ─── Tenant SMTP: the sender and the credentials it logs in with ────────────────────────────────────

/**
 * One tenant's SMTP server as the sender is told about it: the stored settings that reach the server
 * (a password only as its KMS ciphertext, absent for an unsaved config; an OAuth2 login instead of a
 * password, which the credentials port turns into an access token), never a secret.
 */
export interface SmtpTarget
  extends Pick<SmtpSettings, 'host' | 'port' | 'security' | 'username' | 'passwordCiphertext' | 'oauth2'> {
  tenantId: string;
  /**
   * The config version the settings belong to. A kept connection serves one version only: a new
   * version (a changed host, user or password) opens a new one.
   */
  configVersion: number;
}

/** What the sender logs in with: a password (AUTH PLAIN/LOGIN) or an OAuth2 access token (XOAUTH2). */
export type SmtpCredential =
  | { type: 'password'; user: string; pass: string }
  | { type: 'oauth2'; user: string; accessToken: string };

/**
 * Gives the sender a credential when it opens a connection, and nothing else ever holds it: the
 * secret travels from its store (KMS today, a token endpoint later) straight into AUTH.
 */
export interface SmtpCredentials {
  /**
   * The credential for the target's server. May answer from a per-container cache. Throws
   * `CredentialsError` (its `code` says why: KMS's error name, `TimeoutError` at the deadline).
   */
  credentialFor(target: SmtpTarget, opts?: { deadline?: number }): Promise<SmtpCredential>;
  /**
   * The server refused the credential it was given: forget whatever is cached for this target, so
   * the next `credentialFor` fetches a fresh one (a refreshed token). A stored password has nothing to
   * forget: its ciphertext decrypts to the same plaintext until the config changes.
   */
  invalidate(target: SmtpTarget): void;
}

/** The envelope and the finished MIME message (built once, sent byte for byte). */
export interface OutgoingMail {
  from: string;
  to: string[];
  raw: Buffer | string;
}

export interface SmtpCallOptions {
  /**
   * Epoch ms: nothing (credentials, connecting, sending) runs past it, and DATA starts only when the
   * wait for the reply after the final "." still fits before it.
   */
  deadline?: number;
  /** Log in with these instead of the sender's own (an unsaved config's typed password). */
  credentials?: SmtpCredentials;
}

/** A send's result as data; failures are unclassified (the dispatcher calls `classifySmtpFailure`). */
export type SmtpSendOutcome =
  | {
      ok: true;
      accepted: string[];
      /** Recipients refused at RCPT while the others were sent to. */
      refused: RecipientRefusal[];
      response: string;
      /** Message-ID the tenant server gave the message, when its reply names one (it replaced ours). */
      messageId?: string;
      durationMs: number;
    }
  | {
      ok: false;
      error: SmtpErrorInfo;
      /** Recipients accepted at RCPT before the failure; after a `MESSAGE` failure they may have it. */
      accepted: string[];
      /** Refused at RCPT before the failure; every recipient when all were refused (EENVELOPE). */
      refused: RecipientRefusal[];
      durationMs: number;
      /**
       * DATA was never started: too little time was left to wait for its reply. Nothing was sent and
       * nothing is wrong with the server: the message is for a later attempt, not for the fallback.
       */
      deferred?: true;
    };

export type SmtpVerifyOutcome =
  | { ok: true; durationMs: number }
  | { ok: false; error: SmtpErrorInfo; durationMs: number };

/**
 * The tenant SMTP sender. One tenant's sends come one at a time (the dispatcher's batch state orders
 * them); the sender keeps one connection per tenant and config version between them. Never throws.
 */
export interface TenantSmtpSender {
  /** Sends one message over the tenant's kept connection (opened, and logged in to, when needed). */
  send(target: SmtpTarget, mail: OutgoingMail, opts?: SmtpCallOptions): Promise<SmtpSendOutcome>;
  /** Connects, secures and authenticates over a connection of its own, without sending mail. */
  verify(target: SmtpTarget, opts?: SmtpCallOptions): Promise<SmtpVerifyOutcome>;
  /** Sends one message over a connection of its own (the config API's test mail); keeps nothing. */
  sendOnce(target: SmtpTarget, mail: OutgoingMail, opts?: SmtpCallOptions): Promise<SmtpSendOutcome>;
  /** Closes and forgets the tenant's kept connection (config changed or deleted). */
  invalidate(tenantId: string): void;
  /** Closes every kept connection. */
  close(): void;
}

// ─── Cipher ───

/** What a secret is for; part of its encryption context, so one kind never decrypts as another. */
export type SecretPurpose = 'smtp-password' | 'smtp-oauth';

export interface DecryptOptions {
  /** Epoch ms (injected clock) after which the caller no longer waits. */
  deadline?: number;
  /** Default `smtp-password`; OAuth2 client secrets and refresh tokens are `smtp-oauth`. */
  purpose?: SecretPurpose;
}

/** Tenant SMTP secrets, encrypted bound to their tenant (and purpose). Failures throw CredentialsError. */
export interface PasswordCipher {
  /** Encrypts a tenant's SMTP secret (its password unless `purpose` says otherwise); base64 ciphertext. */
  encryptPassword(tenantId: string, plaintext: string, purpose?: SecretPurpose): Promise<string>;
  /**
   * Decrypts a stored ciphertext under the tenant's context; fails for another tenant's ciphertext.
   * With `deadline`, fails with CredentialsError code `TimeoutError` once it passes.
   */
  decryptPassword(tenantId: string, ciphertextB64: string, opts?: DecryptOptions): Promise<string>;
}

// ─── OAuth2 (the config API's side) ───

/** What the config API needs of the OAuth2 token client. */
export interface OAuthTokens {
  /**
   * Checks a token URL as a PUT does (its form, then the network guard on its host) without calling
   * it; throws HostRefusedError or DnsFailureError.
   */
  vetUrl(url: string): Promise<unknown>;
  /**
   * A credentials port for an OAuth2 config typed into the test endpoint: the secrets as given, and a
   * token cache of its own, so a token of an unsaved config never serves the stored one.
   */
  typedCredentials(
    subject: { tenantId: string; configVersion: number; oauth2: OAuth2Settings },
    secrets: OAuth2Secrets,
  ): SmtpCredentials;
}

// ─── SES sender ───

export interface SesDestinations {
  to: string[];
  cc?: string[];
  bcc?: string[];
}

export interface SesTag {
  Name: string;
  Value: string;
}

export interface SesSendInput {
  /** Bare address used as FromEmailAddress (the identity SES checks); the header From is in `raw`. */
  from: string;
  /** The MIME message from the MIME builder, without Bcc. */
  raw: Buffer;
  /** Only the recipients still owed; SES delivers to these, not to the header recipients. */
  destinations: SesDestinations;
  tags: SesTag[];
  /** The SES tenant the send goes through (`TenantName`; docs/design.md §20). */
  tenantName?: string;
  /**
   * Ends the call when it aborts (the invocation's deadline): a hung SES call must not outlive the lease
   * on the message. The send then fails as retryable, code `Timeout`; SES may still have taken it.
   */
  signal?: AbortSignal;
}

/** Why SES did not take a message, in the shape of the SMTP sender's failures: data, never thrown. */
export interface SesFailure {
  /** The SDK's error name, or the socket's errno (`ECONNREFUSED`), or `Timeout`, `NoRecipients`, `NoMessageId`. */
  code: string;
  message: string;
  /** A later attempt may succeed (throttled, 5xx, unreachable, cut at the deadline). */
  retryable: boolean;
  /** The request may have reached SES and been sent (a 5xx, a lost answer, our own timeout). */
  mayHaveSent: boolean;
  /**
   * SES refused an identity as not verified: the identities it named, empty when it named none. In the
   * SES sandbox unverified *recipients* are refused the same way, so callers check the list.
   */
  unverified?: string[];
}

/** A send's result as data (tagged by `ok`), like the SMTP sender's `SmtpSendOutcome`. */
export type SesSendResult = { ok: true; messageId: string } | { ok: false; error: SesFailure };

export interface SesSender {
  /** Sends one raw message; every outcome comes back as data, never thrown. */
  send(input: SesSendInput): Promise<SesSendResult>;
}

// ─── Queue ───

export interface DlqEntry {
  /** The original message body, sent verbatim. */
  body: string;
  /** The mail DLQ's reasons (§9), or the delivery events DLQ's (§19). */
  reason: DlqReason | EventDlqReason;
  /** The field and rule, or the last failure; truncated by the adapter to what the queue takes. */
  detail: string;
  tenantId?: string;
}

/** The dispatcher's own queue operations; failures throw QueueError. */
export interface MailQueue {
  /** Sets a received message's visibility timeout (clamped to what the queue allows). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Puts a message on the DLQ with `reason`, `detail` and (when known) `tenantId` attributes. */
  sendToDlq(entry: DlqEntry): Promise<{ messageId: string }>;
}

// ─── MIME ───

/** What a message is built from. Addresses are already validated and punycoded by the caller. */
export interface MimeInput {
  /** Full From header value, e.g. `"Acme via Platform" <mail@platform.example>`. */
  from: string;
  replyTo?: string;
  to: string[];
  cc?: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Extra headers (X-*, Auto-Submitted, List-Unsubscribe…), set as given; the caller refused CR/LF. */
  headers?: Record<string, string>;
  /** Message ids (with or without angle brackets) for threading. */
  inReplyTo?: string;
  references?: string[];
  /** Reuse an id (the second build of the same message keeps its identity); generated when missing. */
  messageId?: string;
  /** Domain of a generated Message-ID; defaults to the From address's domain. */
  messageIdDomain?: string;
  date?: Date;
}

export interface BuiltMime {
  /** The RFC 5322 message, CRLF line endings, without any Bcc header. */
  raw: Buffer;
  /** The Message-ID header value, with angle brackets. */
  messageId: string;
}

/** Builds the one MIME message both routes send; Bcc never goes in (envelope / Destination only). */
export type MimeBuilder = (input: MimeInput) => Promise<BuiltMime>;

// ─── Network guard ───

export interface VettedTarget {
  host: string;
  /** The address to connect to; the caller must connect here, never re-resolve `host`. */
  address: string;
  family: 4 | 6;
}

/** Vets a tenant SMTP host before anything connects; throws HostRefusedError or DnsFailureError. */
export interface HostGuard {
  /** Checks the port, resolves `host` (every call; nothing cached) and vets every address. */
  vet(host: string, port: number): Promise<VettedTarget>;
}
