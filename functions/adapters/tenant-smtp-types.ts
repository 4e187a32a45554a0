import type { SmtpCredentials } from '../core/ports';
import type { Clock } from '../core/types';
import type { VetHost } from './tenant-smtp-socket';

/** The tenant SMTP sender's options (the port it implements is in core/ports.ts). */

/** Powertools' Logger fits; only failures are logged, never a password. */
export interface SenderLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

export interface SenderTimeouts {
  /** Vetting, connecting, TLS and the greeting together; default 10 000. */
  connectMs: number;
  /** The reply to each command before DATA (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA; RSET, QUIT); default 10 000. */
  commandMs: number;
  /**
   * The reply after the final "." (DATA_REPLY_TIMEOUT_SECONDS); default 300 000. DATA starts only when
   * this wait fits before the call's deadline.
   */
  dataReplyMs: number;
  /** A kept connection without a message this long is retired with QUIT; default 30 000. */
  idleMs: number;
}

export interface TenantSmtpSenderOptions {
  /** The network guard's check, run before every new connection (`createNetworkGuard().vet`). */
  vet: VetHost;
  /** Where the login comes from, asked when a connection is opened (`createKmsCredentials`). */
  credentials: SmtpCredentials;
  clock: Clock;
  timeouts?: Partial<SenderTimeouts>;
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
