import net from 'node:net';
import type tls from 'node:tls';
import { createTransport } from 'nodemailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type Mail from 'nodemailer/lib/mailer';
import type { SMTPPoolOptions, SMTPPoolSentMessageInfo } from 'nodemailer/lib/smtp-pool';
import type { SmtpErrorInfo, SmtpPhase } from '../core/types';
import { describeFailure, redactor, refusalsOf } from './tenant-smtp-session';
import { ConnectFailure, type ConnectionSlot, createConnector } from './tenant-smtp-socket';
import type {
  OutgoingMail,
  SmtpCallOptions,
  SmtpSendOutcome,
  SmtpVerifyOutcome,
  TenantSmtpSender,
  TenantSmtpSenderOptions,
  TenantSmtpTarget,
} from './tenant-smtp-types';

export type { VetHost } from './tenant-smtp-socket';
export type {
  OutgoingMail,
  SenderLogger,
  SmtpCallOptions,
  SmtpSendOutcome,
  SmtpVerifyOutcome,
  TenantSmtpSender,
  TenantSmtpSenderOptions,
  TenantSmtpTarget,
} from './tenant-smtp-types';

interface Pool {
  fingerprint: string;
  password: string;
  transport: Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
  slot: ConnectionSlot;
  redact: (text: string) => string;
}

type Timeouts = { connectMs: number; socketMs: number };

function timeoutInfo(phase: SmtpPhase, message: string): SmtpErrorInfo {
  return { phase, code: 'ETIMEDOUT', message };
}

/**
 * Builds the tenant SMTP sender: one nodemailer pool per tenant and config version (one connection,
 * one message at a time, so the phase tracker always belongs to the message in flight), each new
 * connection vetted and made to the vetted address with the certificate checked against the host name.
 * `connectMs` bounds vetting, connecting, TLS and the greeting together, `socketMs` any silence after;
 * a call's `deadline` cuts whatever is still running (the pool's own timers cannot be set per call).
 */
export function createTenantSmtpSender(options: TenantSmtpSenderOptions): TenantSmtpSender {
  const { clock } = options;
  const defaults: Timeouts = {
    connectMs: options.timeouts?.connectMs ?? 10_000,
    socketMs: options.timeouts?.socketMs ?? 30_000,
  };
  const pools = new Map<string, Pool>();
  const turns = new Map<string, Promise<void>>();

  function transportOptions(
    target: TenantSmtpTarget,
    slot: ConnectionSlot,
    redact: (text: string) => string,
    timeouts: Timeouts,
  ): SMTPPoolOptions {
    // SNI and the certificate check use the configured name; an IP literal is checked as the IP.
    const tlsOptions: tls.ConnectionOptions = {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(!net.isIP(target.host) && { servername: target.host }),
      ...(options.tls?.ca !== undefined && { ca: options.tls.ca }),
    };
    const { host, port, security } = target;
    const connector = createConnector(
      {
        vet: options.vet,
        clock,
        host,
        port,
        security,
        tls: tlsOptions,
        connectMs: timeouts.connectMs,
        redact,
      },
      slot,
    );
    return {
      port: target.port,
      secure: target.security === 'tls',
      requireTLS: target.security === 'starttls',
      ignoreTLS: target.security === 'none',
      ...(options.name !== undefined && { name: options.name }),
      auth: { user: target.username, pass: target.password },
      // Credentials are configured, so authenticate even if the server does not advertise AUTH.
      forceAuth: true,
      tls: tlsOptions,
      connectionTimeout: timeouts.connectMs,
      greetingTimeout: timeouts.connectMs,
      socketTimeout: timeouts.socketMs,
      transactionLog: true,
      getSocket: connector,
      disableFileAccess: true,
      disableUrlAccess: true,
    };
  }

  function refuseConfig(target: TenantSmtpTarget): SmtpErrorInfo | undefined {
    if (target.security === 'none' && options.allowInsecure !== true) {
      return {
        phase: 'CONFIG',
        code: 'ECONFIG',
        message: "security 'none' is allowed only for local development (TENANT_SMTP_ALLOW_PRIVATE)",
      };
    }
    return undefined;
  }

  function closePool(tenantId: string): void {
    const pool = pools.get(tenantId);
    if (!pool) return;
    pools.delete(tenantId);
    pool.transport.close({ force: true });
  }

  function poolFor(target: TenantSmtpTarget): Pool {
    const fingerprint = [
      target.configVersion,
      target.host,
      target.port,
      target.security,
      target.username,
    ].join('\n');
    const existing = pools.get(target.tenantId);
    if (existing && existing.fingerprint === fingerprint && existing.password === target.password)
      return existing;
    closePool(target.tenantId);
    const slot: ConnectionSlot = { tracker: undefined, deadline: Number.POSITIVE_INFINITY };
    const redact = redactor(target.username, target.password);
    const transport = createTransport({
      ...transportOptions(target, slot, redact, defaults),
      pool: true,
      maxConnections: 1,
      // One retry on a new connection when a reused one turns out dead before any byte of the message.
      maxRequeues: 1,
    });
    // Every failure reaches the send callback; a stray 'error' event must not crash the container.
    transport.on('error', () => undefined);
    const pool: Pool = { fingerprint, password: target.password, transport, slot, redact };
    pools.set(target.tenantId, pool);
    return pool;
  }

  /** Runs `work` when the tenant's previous send is done, unless the deadline comes first. */
  async function inTurn<T>(
    tenantId: string,
    deadline: number,
    work: () => Promise<T>,
    late: () => T,
  ): Promise<T> {
    const previous = turns.get(tenantId) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    turns.set(tenantId, tail);
    let timer: NodeJS.Timeout | undefined;
    try {
      const waitMs = deadline - clock.now();
      const ready = await Promise.race([
        previous.then(() => true),
        new Promise<boolean>((resolve) => {
          if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve(false), Math.max(0, waitMs));
        }),
      ]);
      clearTimeout(timer);
      return ready ? await work() : late();
    } finally {
      release();
      if (turns.get(tenantId) === tail) turns.delete(tenantId);
    }
  }

  async function sendNow(
    target: TenantSmtpTarget,
    mail: OutgoingMail,
    deadline: number,
    started: number,
    failed: (error: SmtpErrorInfo) => SmtpSendOutcome,
  ): Promise<SmtpSendOutcome> {
    const remaining = deadline - clock.now();
    if (remaining <= 0) return failed(timeoutInfo('CONNECT', 'deadline reached before the send started'));
    const pool = poolFor(target);
    const { slot, redact } = pool;
    slot.deadline = deadline;
    slot.tracker?.beginMessage();
    const controller = new AbortController();
    let cut: SmtpErrorInfo | undefined;
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => {
          cut = timeoutInfo(
            slot.tracker?.current() ?? 'CONNECT',
            `deadline reached after ${clock.now() - started} ms`,
          );
          controller.abort();
          slot.tracker?.abort();
        }, remaining)
      : undefined;
    const outcome = await new Promise<SmtpSendOutcome>((resolve) => {
      pool.transport.sendMail(
        { envelope: { from: mail.from, to: mail.to }, raw: mail.raw, signal: controller.signal },
        (err, info) => {
          // Read the tracker now, synchronously: it describes the connection that just failed.
          const tracker = slot.tracker;
          const durationMs = clock.now() - started;
          if (err) {
            const failure = err as NodemailerError;
            const error =
              cut ?? (err instanceof ConnectFailure ? err.info : describeFailure(failure, tracker, redact));
            const accepted = [...(tracker?.accepted ?? [])];
            const refused = refusalsOf(failure.rejectedErrors, tracker, redact);
            resolve({ ok: false, error, accepted, refused, durationMs });
            return;
          }
          const refused = refusalsOf(info.rejectedErrors, tracker, redact);
          resolve({
            ok: true,
            accepted: [...(info.accepted ?? [])],
            refused,
            response: redact(info.response ?? ''),
            ...(info.serverMessageId !== undefined && { messageId: info.serverMessageId }),
            durationMs,
          });
        },
      );
    });
    clearTimeout(timer);
    if (!outcome.ok) {
      // The next attempt starts over: new connection, host vetted again.
      closePool(target.tenantId);
      options.logger?.warn('tenant smtp send failed', {
        tenantId: target.tenantId,
        configVersion: target.configVersion,
        ...outcome.error,
        durationMs: outcome.durationMs,
      });
    }
    return outcome;
  }

  async function send(target: TenantSmtpTarget, mail: OutgoingMail, opts: SmtpCallOptions = {}) {
    const started = clock.now();
    const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
    const failed = (error: SmtpErrorInfo): SmtpSendOutcome => ({
      ok: false,
      error,
      accepted: [],
      refused: [],
      durationMs: clock.now() - started,
    });
    const refused = refuseConfig(target);
    if (refused) return failed(refused);
    return inTurn(
      target.tenantId,
      deadline,
      () => sendNow(target, mail, deadline, started, failed),
      () =>
        failed(
          timeoutInfo('CONNECT', 'deadline reached while an earlier message of this tenant was sending'),
        ),
    );
  }

  async function verify(target: TenantSmtpTarget, opts: SmtpCallOptions = {}): Promise<SmtpVerifyOutcome> {
    const started = clock.now();
    const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
    const done = (error?: SmtpErrorInfo): SmtpVerifyOutcome =>
      error
        ? { ok: false, error, durationMs: clock.now() - started }
        : { ok: true, durationMs: clock.now() - started };
    const refused = refuseConfig(target);
    if (refused) return done(refused);
    const remaining = deadline - clock.now();
    if (remaining <= 0) return done(timeoutInfo('CONNECT', 'deadline reached before the check started'));
    // Own connection, not the pool: a check of an unsaved config must not touch the cached transport.
    const slot: ConnectionSlot = { tracker: undefined, deadline };
    const redact = redactor(target.username, target.password);
    const clipped: Timeouts = {
      connectMs: Math.max(1, Math.min(defaults.connectMs, remaining)),
      socketMs: Math.max(1, Math.min(defaults.socketMs, remaining)),
    };
    const transport = createTransport(transportOptions(target, slot, redact, clipped));
    transport.on('error', () => undefined);
    const outcome = await new Promise<SmtpVerifyOutcome>((resolve) => {
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
    transport.close();
    return outcome;
  }

  return {
    send,
    verify,
    invalidate: closePool,
    close() {
      for (const tenantId of [...pools.keys()]) closePool(tenantId);
    },
  };
}
