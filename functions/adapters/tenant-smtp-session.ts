import type { Socket } from 'node:net';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { RecipientRefusal, SmtpErrorInfo, SmtpPhase } from '../core/types';
import { authReply } from './tenant-smtp-replies';

export { redactor } from './tenant-smtp-replies';

/** A command still waiting for its reply; `null` phase for session housekeeping (RSET, QUIT, NOOP). */
interface Waiting {
  phase: SmtpPhase | null;
  recipient?: string;
}

/** The bunyan-style logger shape nodemailer calls: (fields, message, ...args). */
type LogCall = (entry: { tnx?: unknown } | undefined, message?: unknown) => void;

/** How long a reply may take: to a command before DATA (and RSET, QUIT), and to the final ".". */
export interface ReplyLimits {
  commandMs: number;
  dataReplyMs: number;
}

export interface TrackerOptions {
  limits?: ReplyLimits;
  /** Asked when DATA is about to go out: false means too little time is left to wait for the reply. */
  mayStartData?: () => boolean;
}

/**
 * What one SMTP connection has done so far, read from nodemailer's transaction log (`transactionLog`
 * with this object's `logger` handed to the connection). nodemailer reports a drop after the final "."
 * as `ECONNECTION`/`CONN`, the same as a connect failure; only the log of commands and replies tells
 * which step was waiting, so the sender can say `MESSAGE` (a possible duplicate) rather than guess.
 * With `limits` it also times every reply: the oldest unanswered command gets `commandMs` (the reply
 * after "." `dataReplyMs`), counted again from each reply; past it the connection is cut and `expired`
 * says which step was waiting. The greeting and the TLS handshake are nodemailer's to time.
 */
export class SessionTracker {
  /** The socket the connector opened, so a deadline can cut the connection at once. */
  socket: Socket | undefined;
  /** Set at a deadline: a connection still being vetted or opened must not go on. */
  aborted = false;
  /** The step whose reply did not come within its limit (the connection was cut). */
  expired: { phase: SmtpPhase; limitMs: number } | undefined;
  /** DATA was held back (and the connection cut): too little time left to wait for its reply. */
  dataWithheld = false;
  /** Recipients of the current transaction, from the RCPT replies (also known when the send fails). */
  accepted: string[] = [];
  refused: RecipientRefusal[] = [];
  /** The reply last received and the step it answered. */
  lastReply: { phase: SmtpPhase; response: string } | undefined;
  /** Replies received since the current message began (none: the server never answered it). */
  repliesThisMessage = 0;

  private readonly waiting: Waiting[] = [];
  private lastPhase: SmtpPhase = 'CONNECT';
  /** The server answered an AUTH step with "334": the next line is the client's answer, not a command. */
  private authChallenge = false;
  private handshaking = false;
  /** The server refused MAIL FROM: the RCPT replies that follow (pipelined, "503") refuse nobody. */
  private senderRefused = false;
  private timer: NodeJS.Timeout | undefined;

  /** Handed to nodemailer as the connection's logger; reads only client commands and server replies. */
  readonly logger: Record<'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', LogCall>;

  constructor(private readonly options: TrackerOptions = {}) {
    const ignore: LogCall = () => undefined;
    const read: LogCall = (entry, message) => {
      if (typeof message !== 'string') return;
      if (entry?.tnx === 'client') this.command(message);
      else if (entry?.tnx === 'server') this.reply(message);
      this.rearm();
    };
    // The end of the message (the final "." queued) is logged at info level; its reply wait starts there.
    const sent: LogCall = (entry) => {
      if (entry?.tnx === 'message') this.rearm();
    };
    this.logger = { trace: ignore, debug: read, info: sent, warn: ignore, error: ignore, fatal: ignore };
  }

  /** Cuts the connection (or the attempt still under way) now. */
  abort(): void {
    this.aborted = true;
    this.stopTimer();
    this.socket?.destroy();
  }

  /** The connection is over: no reply is awaited any more. */
  dispose(): void {
    this.stopTimer();
  }

  /** The TCP (and, for implicit TLS, the TLS) connection is up: the greeting is owed. */
  connected(): void {
    this.lastPhase = 'GREETING';
    this.waiting.push({ phase: 'GREETING' });
  }

  /** A new message on this connection: forget the previous message's recipients. */
  beginMessage(): void {
    this.accepted = [];
    this.refused = [];
    this.senderRefused = false;
    this.repliesThisMessage = 0;
  }

  /** The step to blame for a failure that came without a reply: the oldest command still unanswered. */
  current(): SmtpPhase {
    if (this.handshaking) return 'STARTTLS';
    return this.waiting.find((entry) => entry.phase !== null)?.phase ?? this.lastPhase;
  }

  /** True while the TLS handshake after STARTTLS runs (a failure there is a TLS failure). */
  inHandshake(): boolean {
    return this.handshaking;
  }

  private command(line: string): void {
    // Any command after the STARTTLS reply goes over the new TLS session, so the handshake is done.
    this.handshaking = false;
    if (this.authChallenge) {
      // The user name, the masked secret or an empty line: base64 that may look like any verb.
      this.authChallenge = false;
      this.waiting.push({ phase: 'AUTH' });
      return;
    }
    const phase = commandPhase(line);
    if (phase === 'DATA' && this.options.mayStartData?.() === false) {
      // Written right after this log line: cut the connection first, so DATA never reaches the server.
      this.dataWithheld = true;
      this.abort();
      return;
    }
    if (phase === 'MAIL') this.beginMessage();
    // A bare "." ends a body the tracker already waits for (MESSAGE); nothing else is unknown.
    if (phase === undefined) return;
    const recipient = phase === 'RCPT' ? /^RCPT TO:<([^>]*)>/i.exec(line)?.[1] : undefined;
    this.waiting.push(recipient === undefined ? { phase } : { phase, recipient });
  }

  private reply(line: string): void {
    this.repliesThisMessage += 1;
    const entry = this.waiting.shift();
    const phase = entry?.phase ?? this.lastPhase;
    this.lastReply = { phase, response: line };
    this.lastPhase = phase;
    const positive = /^2/.test(line);
    if (phase === 'MAIL' && !positive) this.senderRefused = true;
    if (entry?.recipient !== undefined && !this.senderRefused) {
      if (positive) this.accepted.push(entry.recipient);
      else this.refused.push(refusal(entry.recipient, line));
    }
    if (phase === 'STARTTLS' && positive) this.handshaking = true;
    if (phase === 'AUTH' && /^334/.test(line)) this.authChallenge = true;
    // After "354" the body and the final "." go out; from then on a lost connection may have delivered.
    if (phase === 'DATA' && /^3/.test(line)) this.waiting.push({ phase: 'MESSAGE' });
  }

  /** Restarts the reply timer for the oldest command still unanswered (none: the timer stops). */
  private rearm(): void {
    this.stopTimer();
    const limits = this.options.limits;
    const head = this.waiting[0];
    if (!limits || !head || this.aborted || this.handshaking || head.phase === 'GREETING') return;
    const phase = head.phase ?? this.lastPhase;
    const limitMs = head.phase === 'MESSAGE' ? limits.dataReplyMs : limits.commandMs;
    this.timer = setTimeout(() => {
      this.expired = { phase, limitMs };
      this.socket?.destroy();
    }, limitMs);
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function commandPhase(line: string): SmtpPhase | null | undefined {
  const verb = /^[A-Za-z]+/.exec(line)?.[0]?.toUpperCase();
  switch (verb) {
    case 'EHLO':
    case 'HELO':
    case 'LHLO':
      return 'EHLO';
    case 'STARTTLS':
      return 'STARTTLS';
    case 'AUTH':
      return 'AUTH';
    case 'MAIL':
      return 'MAIL';
    case 'RCPT':
      return 'RCPT';
    case 'DATA':
      return line.toUpperCase() === 'DATA' ? 'DATA' : undefined;
    case 'RSET':
    case 'QUIT':
    case 'NOOP':
      return null;
    default:
      return undefined;
  }
}

function replyCode(response: string): number | undefined {
  const code = Number(/^\d{3}/.exec(response)?.[0]);
  return Number.isFinite(code) && code > 0 ? code : undefined;
}

function refusal(address: string, response: string): RecipientRefusal {
  const responseCode = replyCode(response);
  return responseCode === undefined ? { address, response } : { address, responseCode, response };
}

/** nodemailer's `command` for the steps it names itself; `CONN`/`API` say nothing about the step. */
function phaseOfCommand(command: string | undefined): SmtpPhase | undefined {
  if (command === undefined) return undefined;
  if (/^(EHLO|HELO|LHLO)$/.test(command)) return 'EHLO';
  if (command === 'STARTTLS') return 'STARTTLS';
  if (command.startsWith('AUTH')) return 'AUTH';
  if (command === 'MAIL FROM') return 'MAIL';
  if (command === 'RCPT TO') return 'RCPT';
  // Both the DATA command and the reply after the final "." carry 'DATA': a reply, whatever it says,
  // means the server answered, so it is never the `MESSAGE` wait (which is for no reply at all).
  if (command === 'DATA') return 'DATA';
  return undefined;
}

/** Error messages end up in one-line records (lastFailure, logs); OpenSSL's span several lines. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Turns a nodemailer error into the raw, unclassified failure the contract passes on: nodemailer's
 * code, reply and command, plus the step this connection's tracker saw waiting. Never a password.
 */
export function describeFailure(
  err: NodemailerError,
  tracker: SessionTracker | undefined,
  redact: (text: string) => string,
): SmtpErrorInfo {
  const response = typeof err.response === 'string' ? err.response.trim() : undefined;
  const answered =
    response !== undefined && tracker?.lastReply?.response.trim() === response
      ? tracker.lastReply.phase
      : undefined;
  const phase = phaseOfCommand(err.command) ?? answered ?? tracker?.current() ?? 'CONNECT';
  // An error without a code ("Connection closed" from verify) is a lost connection.
  let code = err.code ?? 'ECONNECTION';
  // A certificate or handshake failure after STARTTLS reaches nodemailer as a socket error (ESOCKET
  // with the TLS code kept as originalCode); it is a TLS failure, say so with nodemailer's own code.
  if (phase === 'STARTTLS' && tracker?.inHandshake() && code !== 'ETIMEDOUT') code = 'ETLS';
  else if (code === 'ESOCKET' && err.originalCode !== undefined) code = err.originalCode;
  const detail =
    err.originalCode !== undefined && !err.message.includes(err.originalCode) ? ` [${err.originalCode}]` : '';
  if (phase === 'AUTH' && response !== undefined) {
    // A reply to AUTH is kept as code, enhanced code and a fixed description, never the server's text.
    const kept = authReply(response);
    const info: SmtpErrorInfo = { phase, code, message: `login refused: ${kept}`, response: kept };
    if (typeof err.responseCode === 'number') info.responseCode = err.responseCode;
    if (err.command !== undefined) info.command = err.command;
    return info;
  }
  const info: SmtpErrorInfo = { phase, code, message: oneLine(redact(`${err.message}${detail}`)) };
  if (typeof err.responseCode === 'number') info.responseCode = err.responseCode;
  if (err.command !== undefined) info.command = err.command;
  if (response !== undefined) info.response = redact(response);
  return info;
}

/** Recipients refused at RCPT, from nodemailer's `rejectedErrors` or, failing that, the tracker's. */
export function refusalsOf(
  rejectedErrors: NodemailerError[] | undefined,
  tracker: SessionTracker | undefined,
  redact: (text: string) => string,
): RecipientRefusal[] {
  const fromError = (rejectedErrors ?? []).flatMap((rejected) =>
    rejected.recipient === undefined
      ? []
      : [refusal(rejected.recipient, rejected.response ?? rejected.message)],
  );
  const refusals = fromError.length > 0 ? fromError : (tracker?.refused ?? []);
  return refusals.map((entry) =>
    entry.response === undefined ? entry : { ...entry, response: redact(entry.response) },
  );
}
