import type { RecipientRefusal, SmtpErrorInfo, SmtpSecurity } from './types';

/**
 * The ports the handlers (dispatcher, config API) depend on; adapters implement them. Pure types: no
 * I/O, no SDK, nothing imported from adapters or handlers.
 */

// ─── Tenant SMTP: the sender and the credentials it logs in with ────────────────────────────────────

/** One tenant's SMTP server as the sender is told about it: settings, never a secret. */
export interface SmtpTarget {
  tenantId: string;
  /**
   * The config version the settings belong to. A kept connection serves one version only: a new
   * version (a changed host, user or password) opens a new one.
   */
  configVersion: number;
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  /** The stored KMS ciphertext the credentials port turns into a password (absent for an unsaved config). */
  passwordCiphertext?: string;
}

/**
 * What the sender logs in with. Tagged, so other kinds can join: the OAuth2 work adds
 * `{ type: 'oauth2'; user: string; accessToken: string }` (sent as XOAUTH2).
 */
export type SmtpCredential = { type: 'password'; user: string; pass: string };

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
  /** Epoch ms: nothing (credentials, connecting, sending) runs past it. */
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
