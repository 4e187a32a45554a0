import type { NodemailerError } from 'nodemailer/lib/errors';
import SMTPConnection, {
  type SMTPConnectionAuth,
  type SMTPConnectionSendInfo,
} from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';
import type { OutgoingMail, SmtpCredential, SmtpTarget } from '../core/ports';
import type { Clock, RecipientRefusal, SmtpErrorInfo } from '../core/types';
import { describeFailure, refusalsOf, SessionTracker } from './tenant-smtp-session';
import { ConnectFailure, openSocket, type VetHost } from './tenant-smtp-socket';
import { timeoutInfo, tlsOptionsFor } from './tenant-smtp-transport';
import type { SenderTimeouts } from './tenant-smtp-types';

/** What every connection of a sender shares: the guard, the clock, the trusted CAs, the EHLO name. */
export interface ConnectionBasics {
  vet: VetHost;
  clock: Clock;
  timeouts: SenderTimeouts;
  ca?: string | Buffer[] | undefined;
  name?: string | undefined;
}

/** The code of an outcome that never started DATA for lack of time: nothing sent, nothing wrong. */
export const DATA_WITHHELD = 'EDEFERRED';

/** nodemailer's login for a credential: a password (PLAIN or LOGIN, as offered), or XOAUTH2 with the token. */
function authFor(credential: SmtpCredential): SMTPConnectionAuth {
  if (credential.type === 'password') {
    const { user, pass } = credential;
    return { user, pass, credentials: { user, pass } };
  }
  // The token as given, nothing to renew it with: a refused one fails the login (the sender asks again).
  const oauth2 = new XOAuth2({ user: credential.user, accessToken: credential.accessToken });
  oauth2.on('error', () => undefined);
  return { type: 'OAUTH2', user: credential.user, oauth2, method: 'XOAUTH2' };
}

/** Runs one nodemailer step; the step's own callback, its 'error', or the connection's end settles it. */
function step<T>(
  smtp: SMTPConnection,
  run: (done: (err: Error | null, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: T): void => {
      if (settled) return;
      settled = true;
      smtp.off('error', onError);
      smtp.off('end', onEnd);
      if (err) reject(err);
      else resolve(value as T);
    };
    const onError = (err: Error): void => finish(err);
    // nodemailer ends the connection before it calls back with a 421 reply: let the callback speak first.
    const onEnd = (): void => {
      setImmediate(() => finish(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' })));
    };
    smtp.on('error', onError);
    smtp.on('end', onEnd);
    run(finish);
  });
}

/** A call's deadline over a tracker: at `deadline` the connection is cut and the waiting step named. */
function watchDeadline(tracker: SessionTracker, deadline: number, clock: Clock, started: number) {
  let cut: SmtpErrorInfo | undefined;
  const remaining = deadline - clock.now();
  const timer = Number.isFinite(remaining)
    ? setTimeout(
        () => {
          cut = timeoutInfo(tracker.current(), `deadline reached after ${clock.now() - started} ms`);
          tracker.abort();
        },
        Math.max(0, remaining),
      )
    : undefined;
  return {
    cut: () => cut,
    stop: () => clearTimeout(timer),
  };
}

/** The failure as the contract records it: withheld DATA, the deadline, a reply too late, or nodemailer's. */
function failureOf(
  err: unknown,
  tracker: SessionTracker,
  cut: SmtpErrorInfo | undefined,
  redact: (text: string) => string,
): SmtpErrorInfo {
  if (tracker.dataWithheld) {
    const message = 'too little time left to wait for the reply to the message; left for a later attempt';
    return { phase: 'DATA', code: DATA_WITHHELD, message };
  }
  if (cut) return cut;
  if (tracker.expired) {
    const { phase, limitMs } = tracker.expired;
    return { phase, code: 'ETIMEDOUT', message: `no reply to ${phase} within ${limitMs} ms` };
  }
  if (err instanceof ConnectFailure) return err.info;
  return describeFailure(err as NodemailerError, tracker, redact);
}

export type Transmitted =
  | { ok: true; info: SMTPConnectionSendInfo; refused: RecipientRefusal[] }
  | { ok: false; error: SmtpErrorInfo; accepted: string[]; refused: RecipientRefusal[] };

/**
 * One connection to a tenant's server, logged in: it sends messages one at a time, times every reply
 * (its tracker), withholds DATA when the reply to it could not be awaited before the call's deadline,
 * and says goodbye with QUIT when it is retired.
 */
export class TenantConnection {
  /** Messages sent (or tried) over this connection. */
  messages = 0;
  private ended = false;
  private idleTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly tracker: SessionTracker,
    private readonly smtp: SMTPConnection,
    private readonly clock: Clock,
    readonly redact: (text: string) => string,
    /** The deadline of the call in flight: DATA starts only when its reply wait fits before it. */
    private readonly gate: { deadline: number },
  ) {
    // A failure while nobody waits (an idle connection the server dropped) only ends the connection.
    smtp.on('error', () => undefined);
    smtp.once('end', () => {
      this.ended = true;
      clearTimeout(this.idleTimer);
      tracker.dispose();
    });
  }

  /**
   * Connects (to the vetted address), secures, reads the greeting and logs in, all before `deadline`;
   * a failure comes back described, the connection already dropped.
   */
  static async open(
    basics: ConnectionBasics,
    target: SmtpTarget,
    credential: SmtpCredential,
    redact: (text: string) => string,
    call: { deadline: number; started: number },
  ): Promise<TenantConnection | SmtpErrorInfo> {
    const { clock, timeouts } = basics;
    const opening = clock.now();
    const gate = { deadline: call.deadline };
    const tracker = new SessionTracker({
      limits: timeouts,
      mayStartData: () => clock.now() + timeouts.dataReplyMs <= gate.deadline,
    });
    const watch = watchDeadline(tracker, call.deadline, clock, call.started);
    const tls = tlsOptionsFor(target, basics.ca);
    let smtp: SMTPConnection | undefined;
    try {
      const opened = await openSocket(
        { ...target, vet: basics.vet, clock, tls, connectMs: timeouts.connectMs, redact },
        tracker,
        call.deadline,
      );
      // What is left of the connect budget is the greeting's (and the STARTTLS handshake's).
      const left = Math.max(1, timeouts.connectMs - (clock.now() - opening));
      smtp = new SMTPConnection({
        connection: opened.socket,
        secured: opened.secured,
        host: opened.address,
        port: target.port,
        secure: target.security === 'tls',
        requireTLS: target.security === 'starttls',
        ignoreTLS: target.security === 'none',
        ...(basics.name !== undefined && { name: basics.name }),
        tls,
        connectionTimeout: left,
        greetingTimeout: left,
        // Only a backstop: the tracker times every reply, the sender retires an idle connection first.
        socketTimeout: Math.max(timeouts.idleMs, timeouts.dataReplyMs) + timeouts.commandMs,
        logger: tracker.logger as never,
        transactionLog: true,
      });
      const session = smtp;
      await step<void>(session, (done) => session.connect((err) => done(err ?? null)));
      // Credentials are configured, so authenticate even if the server does not advertise AUTH.
      await step<unknown>(session, (done) => session.login(authFor(credential), done));
      return new TenantConnection(tracker, session, clock, redact, gate);
    } catch (err) {
      const error = failureOf(err, tracker, watch.cut(), redact);
      tracker.dispose();
      smtp?.close();
      tracker.socket?.destroy();
      return error;
    } finally {
      watch.stop();
    }
  }

  /** True while the connection can take a message. */
  get open(): boolean {
    return !this.ended && !this.tracker.aborted;
  }

  /** Sends one message before `call.deadline`; every outcome as data, never a throw. */
  async send(mail: OutgoingMail, call: { deadline: number; started: number }): Promise<Transmitted> {
    clearTimeout(this.idleTimer);
    this.gate.deadline = call.deadline;
    this.messages += 1;
    const { tracker, redact, smtp } = this;
    tracker.beginMessage();
    const watch = watchDeadline(tracker, call.deadline, this.clock, call.started);
    try {
      const info = await step<SMTPConnectionSendInfo>(smtp, (done) =>
        smtp.send({ from: mail.from, to: mail.to }, mail.raw, (err, sent) => done(err, sent)),
      );
      return { ok: true, info, refused: refusalsOf(info.rejectedErrors, tracker, redact) };
    } catch (err) {
      const failure = err as NodemailerError;
      return {
        ok: false,
        error: failureOf(err, tracker, watch.cut(), redact),
        accepted: [...tracker.accepted],
        refused: refusalsOf(failure.rejectedErrors, tracker, redact),
      };
    } finally {
      watch.stop();
    }
  }

  /**
   * True when a failed send never reached the server on a connection that had served before: the
   * server dropped it while it sat idle (or the container was frozen), and a new one may try again.
   */
  diedIdle(result: Transmitted): boolean {
    if (result.ok || this.messages < 2 || this.tracker.repliesThisMessage > 0) return false;
    return ['ECONNECTION', 'ESOCKET', 'EPIPE', 'ECONNRESET'].includes(result.error.code ?? '');
  }

  /** Kept for the next message; retired with QUIT after `idleMs` without one. */
  keepFor(idleMs: number, retire: () => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(retire, idleMs);
    this.idleTimer.unref();
  }

  /** Says goodbye: QUIT, then close when the server answers (or its reply limit passes). */
  quit(): void {
    clearTimeout(this.idleTimer);
    if (!this.open) {
      this.destroy();
      return;
    }
    this.ended = true;
    this.smtp.quit();
  }

  /** Drops the connection at once (a failed or cut session). */
  destroy(): void {
    clearTimeout(this.idleTimer);
    this.ended = true;
    this.tracker.dispose();
    this.smtp.close();
    this.tracker.socket?.destroy();
  }
}
