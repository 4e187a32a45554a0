import { createTransport } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type Mail from 'nodemailer/lib/mailer';
import type { SentMessageInfo } from 'nodemailer/lib/smtp-transport';
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
import { describeFailure, redactor, refusalsOf } from './tenant-smtp-session';
import { ConnectFailure, type ConnectionSlot } from './tenant-smtp-socket';
import {
  type ConnectionBasics,
  credentialOf,
  isFailure,
  refuseConfig,
  secretsOf,
  timeoutInfo,
  transportOptions,
} from './tenant-smtp-transport';
import type { SenderTimeouts, TenantSmtpSenderOptions } from './tenant-smtp-types';

export type { VetHost } from './tenant-smtp-socket';
export type { SenderLogger, TenantSmtpSenderOptions } from './tenant-smtp-types';

/** A transport the sender sends through: a tenant's pool, or a connection of a single check. */
type AnyTransport = Mail<SentMessageInfo>;

/** One tenant's kept pool: one connection, one message at a time, for one config version. */
interface Pool {
  configVersion: number;
  transport: AnyTransport;
  slot: ConnectionSlot;
  redact: (text: string) => string;
}

/** What runs over a connection of its own (a check, or one test message). */
type OwnConnectionWork<T> = (
  transport: AnyTransport,
  slot: ConnectionSlot,
  redact: (text: string) => string,
  call: Call,
) => Promise<T>;

/** When a call began, until when it may run, and how it answers a failure before any connection. */
interface Call {
  started: number;
  deadline: number;
  credentials: SmtpCredentials;
}

const DEFAULT_TIMEOUTS: SenderTimeouts = { connectMs: 10_000, socketMs: 30_000 };

/** An unused slot: no connection yet, no deadline yet. */
function newSlot(deadline = Number.POSITIVE_INFINITY): ConnectionSlot {
  return { tracker: undefined, deadline };
}

function redactorFor(credential: SmtpCredential): (text: string) => string {
  const { user, secrets } = secretsOf(credential);
  const each = secrets.map((secret) => redactor(user, secret));
  return (text) => each.reduce((out, redact) => redact(out), text);
}

/**
 * The server refused an XOAUTH2 login (a 535, or a 334 challenge then 535): the access token may have
 * been revoked or expired early. The credentials port has dropped it; the call tries once more with a
 * fresh one (a second refusal stands: class `auth`).
 */
function refusedToken(outcome: SmtpSendOutcome | SmtpVerifyOutcome): boolean {
  return !outcome.ok && outcome.error.phase === 'AUTH' && outcome.error.command === 'AUTH XOAUTH2';
}

/** Runs `attempt`, and once more when it ended in a refused token (already dropped by then). */
async function retriedOnRefusedToken<T extends SmtpSendOutcome | SmtpVerifyOutcome>(
  attempt: () => Promise<T>,
): Promise<T> {
  const outcome = await attempt();
  return refusedToken(outcome) ? attempt() : outcome;
}

/**
 * Sends one message through `transport` before `deadline` and reads the outcome from nodemailer's
 * answer plus the slot's tracker (which step was waiting, which recipients were taken). The deadline
 * cuts whatever still runs: the connection is destroyed and the step it was in is reported.
 */
function transmit(
  transport: AnyTransport,
  slot: ConnectionSlot,
  redact: (text: string) => string,
  mail: OutgoingMail,
  call: Call,
  now: () => number,
): Promise<SmtpSendOutcome> {
  const remaining = call.deadline - now();
  slot.deadline = call.deadline;
  slot.tracker?.beginMessage();
  const controller = new AbortController();
  let cut: SmtpErrorInfo | undefined;
  const timer = Number.isFinite(remaining)
    ? setTimeout(() => {
        cut = timeoutInfo(
          slot.tracker?.current() ?? 'CONNECT',
          `deadline reached after ${now() - call.started} ms`,
        );
        controller.abort();
        slot.tracker?.abort();
      }, remaining)
    : undefined;
  return new Promise<SmtpSendOutcome>((resolve) => {
    transport.sendMail(
      { envelope: { from: mail.from, to: mail.to }, raw: mail.raw, signal: controller.signal },
      (err, info) => {
        clearTimeout(timer);
        // Read the tracker now, synchronously: it describes the connection that just failed.
        const tracker = slot.tracker;
        const durationMs = now() - call.started;
        if (err) {
          const failure = err as NodemailerError;
          const error =
            cut ?? (err instanceof ConnectFailure ? err.info : describeFailure(failure, tracker, redact));
          const accepted = [...(tracker?.accepted ?? [])];
          const refused = refusalsOf(failure.rejectedErrors, tracker, redact);
          resolve({ ok: false, error, accepted, refused, durationMs });
          return;
        }
        resolve({
          ok: true,
          accepted: [...(info.accepted ?? [])].map(String),
          refused: refusalsOf(info.rejectedErrors, tracker, redact),
          response: redact(info.response ?? ''),
          ...(info.serverMessageId !== undefined && { messageId: info.serverMessageId }),
          durationMs,
        });
      },
    );
  });
}

/** Connects, secures and authenticates through a fresh single-connection transport, then closes it. */
function check(
  transport: AnyTransport,
  slot: ConnectionSlot,
  redact: (text: string) => string,
  call: Call,
  now: () => number,
): Promise<SmtpVerifyOutcome> {
  const remaining = call.deadline - now();
  const done = (error?: SmtpErrorInfo): SmtpVerifyOutcome => {
    const durationMs = now() - call.started;
    return error ? { ok: false, error, durationMs } : { ok: true, durationMs };
  };
  return new Promise<SmtpVerifyOutcome>((resolve) => {
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => {
          resolve(done(timeoutInfo(slot.tracker?.current() ?? 'CONNECT', 'deadline reached')));
          slot.tracker?.abort();
        }, remaining)
      : undefined;
    transport.verify((err) => {
      clearTimeout(timer);
      if (!err) return resolve(done());
      const failure = err as NodemailerError;
      resolve(
        done(err instanceof ConnectFailure ? err.info : describeFailure(failure, slot.tracker, redact)),
      );
    });
  });
}

/**
 * Builds the tenant SMTP sender: one nodemailer pool per tenant and config version (one connection,
 * one message at a time, so the phase tracker always belongs to the message in flight), each new
 * connection vetted and made to the vetted address with the certificate checked against the host name.
 * The login comes from the credentials port when a pool or a check connection is opened. `connectMs`
 * bounds vetting, connecting, TLS and the greeting together, `socketMs` any silence after; a call's
 * `deadline` cuts whatever is still running (the pool's own timers cannot be set per call).
 */
export function createTenantSmtpSender(options: TenantSmtpSenderOptions): TenantSmtpSender {
  const { clock } = options;
  const now = () => clock.now();
  const timeouts: SenderTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const basics: ConnectionBasics = { vet: options.vet, clock, ca: options.tls?.ca, name: options.name };
  const pools = new Map<string, Pool>();

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

  /** Checks the config, then asks for the credential: either may end the call before any connection. */
  async function prepare(target: SmtpTarget, call: Call): Promise<SmtpCredential | SmtpErrorInfo> {
    const refused = refuseConfig(target, options.allowInsecure === true);
    if (refused) return refused;
    if (call.deadline - now() <= 0) return timeoutInfo('CONNECT', 'deadline reached before the send started');
    return credentialOf(call.credentials, target, call.deadline, clock);
  }

  /** A refused login may mean a stale credential (an expired token): the port forgets it. */
  function afterFailure(target: SmtpTarget, call: Call, error: SmtpErrorInfo, durationMs: number): void {
    if (error.phase === 'AUTH' && error.code === 'EAUTH') call.credentials.invalidate(target);
    options.logger?.warn('tenant smtp send failed', {
      tenantId: target.tenantId,
      configVersion: target.configVersion,
      ...error,
      durationMs,
    });
  }

  function closePool(tenantId: string): void {
    const pool = pools.get(tenantId);
    if (!pool) return;
    pools.delete(tenantId);
    pool.transport.close({ force: true });
  }

  function openPool(target: SmtpTarget, credential: SmtpCredential): Pool {
    const slot = newSlot();
    const redact = redactorFor(credential);
    const transport = createTransport({
      ...transportOptions(basics, target, credential, slot, redact, timeouts),
      pool: true,
      maxConnections: 1,
      // One retry on a new connection when a reused one turns out dead before any byte of the message.
      maxRequeues: 1,
    }) as AnyTransport;
    // Every failure reaches the send callback; a stray 'error' event must not crash the container.
    transport.on('error', () => undefined);
    const pool: Pool = { configVersion: target.configVersion, transport, slot, redact };
    pools.set(target.tenantId, pool);
    return pool;
  }

  /** The tenant's pool for this config version; a pool of an older version is closed first. */
  async function poolFor(target: SmtpTarget, call: Call): Promise<Pool | SmtpErrorInfo> {
    const existing = pools.get(target.tenantId);
    if (existing && existing.configVersion === target.configVersion) return existing;
    closePool(target.tenantId);
    const credential = await prepare(target, call);
    return isFailure(credential) ? credential : openPool(target, credential);
  }

  async function sendAttempt(target: SmtpTarget, mail: OutgoingMail, call: Call): Promise<SmtpSendOutcome> {
    const pool = await poolFor(target, call);
    if (!('transport' in pool)) return failedSend(call, pool);
    const outcome = await transmit(pool.transport, pool.slot, pool.redact, mail, call, now);
    if (!outcome.ok) {
      // The next attempt starts over: new connection, host vetted again, credential asked again.
      closePool(target.tenantId);
      afterFailure(target, call, outcome.error, outcome.durationMs);
    }
    return outcome;
  }

  async function send(target: SmtpTarget, mail: OutgoingMail, opts: SmtpCallOptions = {}) {
    const call = startCall(opts);
    return retriedOnRefusedToken(() => sendAttempt(target, mail, call));
  }

  /** Runs `work` over a transport of its own (no pool), timeouts clipped to the call's deadline. */
  async function withOwnConnection<T extends SmtpSendOutcome | SmtpVerifyOutcome>(
    target: SmtpTarget,
    opts: SmtpCallOptions,
    work: OwnConnectionWork<T>,
  ): Promise<T | SmtpSendOutcome> {
    const call = startCall(opts);
    return retriedOnRefusedToken(() => ownConnectionAttempt(target, call, work));
  }

  async function ownConnectionAttempt<T extends SmtpSendOutcome | SmtpVerifyOutcome>(
    target: SmtpTarget,
    call: Call,
    work: OwnConnectionWork<T>,
  ): Promise<T | SmtpSendOutcome> {
    const credential = await prepare(target, call);
    if (isFailure(credential)) return failedSend(call, credential);
    const remaining = call.deadline - now();
    const clipped: SenderTimeouts = {
      connectMs: Math.max(1, Math.min(timeouts.connectMs, remaining)),
      socketMs: Math.max(1, Math.min(timeouts.socketMs, remaining)),
    };
    const slot = newSlot(call.deadline);
    const redact = redactorFor(credential);
    const transport = createTransport(
      transportOptions(basics, target, credential, slot, redact, clipped),
    ) as AnyTransport;
    transport.on('error', () => undefined);
    try {
      const outcome = await work(transport, slot, redact, call);
      if (!outcome.ok && outcome.error.phase === 'AUTH' && outcome.error.code === 'EAUTH') {
        call.credentials.invalidate(target);
      }
      return outcome;
    } finally {
      transport.close();
    }
  }

  async function verify(target: SmtpTarget, opts: SmtpCallOptions = {}): Promise<SmtpVerifyOutcome> {
    const outcome = await withOwnConnection(target, opts, (transport, slot, redact, call) =>
      check(transport, slot, redact, call, now),
    );
    return outcome.ok
      ? { ok: true, durationMs: outcome.durationMs }
      : { ok: false, error: outcome.error, durationMs: outcome.durationMs };
  }

  function sendOnce(target: SmtpTarget, mail: OutgoingMail, opts: SmtpCallOptions = {}) {
    return withOwnConnection(target, opts, (transport, slot, redact, call) =>
      transmit(transport, slot, redact, mail, call, now),
    ) as Promise<SmtpSendOutcome>;
  }

  return {
    send,
    verify,
    sendOnce,
    invalidate: closePool,
    close() {
      for (const tenantId of [...pools.keys()]) closePool(tenantId);
    },
  };
}
