import type {
  OutgoingMail,
  SmtpCallOptions,
  SmtpCredential,
  SmtpCredentials,
  SmtpSendOutcome,
  SmtpTarget,
  SmtpVerifyOutcome,
  TenantSmtpSender,
} from '../core/ports';
import type { SmtpErrorInfo } from '../core/types';
import {
  type ConnectionBasics,
  DATA_WITHHELD,
  TenantConnection,
  type Transmitted,
} from './tenant-smtp-connection';
import { redactor } from './tenant-smtp-session';
import { credentialOf, isFailure, refuseConfig, secretsOf, timeoutInfo } from './tenant-smtp-transport';
import type { SenderTimeouts, TenantSmtpSenderOptions } from './tenant-smtp-types';

export type { VetHost } from './tenant-smtp-socket';
export type { SenderLogger, SenderTimeouts, TenantSmtpSenderOptions } from './tenant-smtp-types';

/** The contract's defaults (docs/design.md §11): 10 s to connect and greet, 10 s per reply, 300 s after ".". */
export const DEFAULT_TIMEOUTS: SenderTimeouts = {
  connectMs: 10_000,
  commandMs: 10_000,
  dataReplyMs: 300_000,
  idleMs: 30_000,
};

/** One tenant's kept connection, for one config version. */
interface Kept {
  configVersion: number;
  connection: TenantConnection;
}

/** When a call began, until when it may run, and whom it asks for the login. */
interface Call {
  started: number;
  deadline: number;
  credentials: SmtpCredentials;
}

function redactorFor(credential: SmtpCredential): (text: string) => string {
  const { user, secrets } = secretsOf(credential);
  return redactor(user, secrets);
}

/**
 * The server refused an XOAUTH2 login (a 535, or a 334 challenge then 535): the access token may have
 * been revoked or expired early. The credentials port has dropped it; the call tries once more with a
 * fresh one (a second refusal stands: class `auth`).
 */
function refusedToken(error: SmtpErrorInfo | undefined): boolean {
  return error?.phase === 'AUTH' && error.command === 'AUTH XOAUTH2';
}

function outcomeOf(
  result: Transmitted,
  durationMs: number,
  redact: (text: string) => string,
): SmtpSendOutcome {
  if (!result.ok) {
    const { error, accepted, refused } = result;
    return {
      ok: false,
      error,
      accepted,
      refused,
      durationMs,
      ...(error.code === DATA_WITHHELD && { deferred: true as const }),
    };
  }
  const { info, refused } = result;
  return {
    ok: true,
    accepted: info.accepted.map(String),
    refused,
    response: redact(info.response ?? ''),
    ...(info.serverMessageId !== undefined && { messageId: info.serverMessageId }),
    durationMs,
  };
}

/**
 * Builds the tenant SMTP sender. It keeps one connection per tenant and config version between
 * messages (a tenant's messages come one at a time: the dispatcher orders them), each new connection
 * vetted, made to the vetted address with the certificate checked against the host name, and logged
 * in with what the credentials port gives when it opens. Every reply is timed; a kept connection is
 * retired with QUIT (idle, replaced, invalidated, or the sender closed). A failed connection is dropped:
 * the next attempt starts over.
 */
export function createTenantSmtpSender(options: TenantSmtpSenderOptions): TenantSmtpSender {
  const { clock } = options;
  const now = () => clock.now();
  const timeouts: SenderTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const basics: ConnectionBasics = {
    vet: options.vet,
    clock,
    timeouts,
    ca: options.tls?.ca,
    name: options.name,
  };
  const kept = new Map<string, Kept>();

  function startCall(opts: SmtpCallOptions): Call {
    return {
      started: now(),
      deadline: opts.deadline ?? Number.POSITIVE_INFINITY,
      credentials: opts.credentials ?? options.credentials,
    };
  }

  function failedSend(call: Call, error: SmtpErrorInfo): SmtpSendOutcome {
    return { ok: false, error, accepted: [], refused: [], durationMs: now() - call.started };
  }

  /** Connects and logs in; a refused access token is dropped and a fresh one tried once. */
  async function connect(target: SmtpTarget, call: Call): Promise<TenantConnection | SmtpErrorInfo> {
    const opened = await connectOnce(target, call);
    if (opened instanceof TenantConnection || !refusedToken(opened)) return opened;
    return connectOnce(target, call);
  }

  /** Checks the config, asks for the credential, connects and logs in: a connection or why not. */
  async function connectOnce(target: SmtpTarget, call: Call): Promise<TenantConnection | SmtpErrorInfo> {
    const refused = refuseConfig(target, options.allowInsecure === true);
    if (refused) return refused;
    if (call.deadline - now() <= 0) return timeoutInfo('CONNECT', 'deadline reached before the send started');
    const credential = await credentialOf(call.credentials, target, call.deadline, clock);
    if (isFailure(credential)) return credential;
    const opened = await TenantConnection.open(basics, target, credential, redactorFor(credential), call);
    // A refused login may mean a stale credential (an expired token): the port forgets it.
    if (!(opened instanceof TenantConnection) && opened.phase === 'AUTH' && opened.code === 'EAUTH') {
      call.credentials.invalidate(target);
    }
    return opened;
  }

  /** Retires the tenant's kept connection with QUIT. */
  function retire(tenantId: string): void {
    const entry = kept.get(tenantId);
    if (!entry) return;
    kept.delete(tenantId);
    entry.connection.quit();
  }

  function keep(tenantId: string, entry: Kept): void {
    kept.set(tenantId, entry);
    entry.connection.keepFor(timeouts.idleMs, () => {
      if (kept.get(tenantId) === entry) retire(tenantId);
    });
  }

  /** The tenant's kept connection for this config version, or a new one (an older one retired first). */
  async function connectionFor(target: SmtpTarget, call: Call): Promise<TenantConnection | SmtpErrorInfo> {
    const entry = kept.get(target.tenantId);
    if (entry?.configVersion === target.configVersion && entry.connection.open) return entry.connection;
    retire(target.tenantId);
    return connect(target, call);
  }

  async function send(target: SmtpTarget, mail: OutgoingMail, opts: SmtpCallOptions = {}) {
    const call = startCall(opts);
    let connection = await connectionFor(target, call);
    if (!(connection instanceof TenantConnection)) return logged(target, failedSend(call, connection));
    let result = await connection.send(mail, call);
    if (connection.diedIdle(result)) {
      // Dropped while it sat idle, before a byte of this message: once more over a new connection.
      connection.destroy();
      connection = await connect(target, call);
      if (!(connection instanceof TenantConnection)) return logged(target, failedSend(call, connection));
      result = await connection.send(mail, call);
    }
    const outcome = outcomeOf(result, now() - call.started, connection.redact);
    if (outcome.ok) keep(target.tenantId, { configVersion: target.configVersion, connection });
    else {
      kept.delete(target.tenantId);
      // A refused message leaves the session usable: say goodbye. A lost or cut one is dropped.
      if (connection.open && !outcome.deferred) connection.quit();
      else connection.destroy();
      logged(target, outcome);
    }
    return outcome;
  }

  function logged(target: SmtpTarget, outcome: SmtpSendOutcome): SmtpSendOutcome {
    if (!outcome.ok && !outcome.deferred) {
      options.logger?.warn('tenant smtp send failed', {
        tenantId: target.tenantId,
        configVersion: target.configVersion,
        ...outcome.error,
        durationMs: outcome.durationMs,
      });
    }
    return outcome;
  }

  async function verify(target: SmtpTarget, opts: SmtpCallOptions = {}): Promise<SmtpVerifyOutcome> {
    const call = startCall(opts);
    const connection = await connect(target, call);
    const durationMs = now() - call.started;
    if (!(connection instanceof TenantConnection)) return { ok: false, error: connection, durationMs };
    connection.quit();
    return { ok: true, durationMs };
  }

  async function sendOnce(target: SmtpTarget, mail: OutgoingMail, opts: SmtpCallOptions = {}) {
    const call = startCall(opts);
    const connection = await connect(target, call);
    if (!(connection instanceof TenantConnection)) return failedSend(call, connection);
    const result = await connection.send(mail, call);
    if (connection.open) connection.quit();
    else connection.destroy();
    return outcomeOf(result, now() - call.started, connection.redact);
  }

  return {
    send,
    verify,
    sendOnce,
    invalidate: retire,
    close() {
      for (const tenantId of [...kept.keys()]) retire(tenantId);
    },
  };
}
