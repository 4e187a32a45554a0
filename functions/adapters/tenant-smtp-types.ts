import type { Clock, RecipientRefusal, SmtpErrorInfo, SmtpSecurity } from '../core/types';
import type { VetHost } from './tenant-smtp-socket';

/** The tenant SMTP sender's public types (the implementation is in tenant-smtp.ts). */

/** One tenant's SMTP server as the dispatcher hands it over, password already decrypted. */
export interface TenantSmtpTarget {
  tenantId: string;
  configVersion: number;
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  password: string;
}

/** The envelope and the finished MIME message (built once, sent byte for byte). */
export interface OutgoingMail {
  from: string;
  to: string[];
  raw: Buffer | string;
}

export interface SmtpCallOptions {
  /** Epoch ms: nothing (waiting for the tenant's turn, connecting, sending) runs past it. */
  deadline?: number;
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

/** Powertools' Logger fits; only failures are logged, never a password. */
export interface SenderLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

export interface TenantSmtpSenderOptions {
  /** The network guard's check, run before every new connection (`createNetworkGuard().vet`). */
  vet: VetHost;
  clock: Clock;
  timeouts?: {
    /** Vetting, connecting, TLS and the greeting together; default 10 000. */
    connectMs?: number;
    /** Silence allowed on an open connection; default 30 000. */
    socketMs?: number;
  };
  /**
   * Trusted CAs for tests. When set they replace Node's default roots; deployments leave it unset and
   * private CAs come in through NODE_EXTRA_CA_CERTS.
   */
  tls?: { ca?: string | Buffer[] };
  /** Allows `security: 'none'`; true only with TENANT_SMTP_ALLOW_PRIVATE (local development). */
  allowInsecure?: boolean;
  /** EHLO name; nodemailer's default (the machine's FQDN or [127.0.0.1]) when unset. */
  name?: string;
  logger?: SenderLogger;
}

export interface TenantSmtpSender {
  /** Sends one message over the tenant's pooled connection; never throws. */
  send(target: TenantSmtpTarget, mail: OutgoingMail, opts?: SmtpCallOptions): Promise<SmtpSendOutcome>;
  /** Connects, secures and authenticates without sending mail (the config API's test); never throws. */
  verify(target: TenantSmtpTarget, opts?: SmtpCallOptions): Promise<SmtpVerifyOutcome>;
  /** Closes and forgets the tenant's pool (config changed or deleted). */
  invalidate(tenantId: string): void;
  /** Closes every pool. */
  close(): void;
}
