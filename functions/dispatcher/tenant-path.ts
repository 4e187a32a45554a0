import {
  classifyRecipientRefusal,
  classifySmtpFailure,
  isFinalRefusal,
  platformFaultOf,
} from '../core/classify';
import type { SmtpSendOutcome } from '../core/ports';
import type {
  FailureRecord,
  PlatformFault,
  RecipientRefusal,
  SenderConfig,
  SmtpErrorInfo,
  SmtpSettings,
} from '../core/types';
import type { DispatcherDeps } from './ports';
import { allOf, onlyThese, type Recipients, without } from './recipients';

/** What one try of the tenant's SMTP server left behind. */
export interface TenantAttempt {
  /** Recipients the tenant server took (the message is theirs now). */
  accepted: string[];
  /** Address-level permanent refusals (5.1.x, 5.2.1, 5.2.2 at RCPT): final, never sent elsewhere. */
  finalRefusals: RecipientRefusal[];
  /** Recipients still owed after the try: the fallback's to send. */
  unsent: Recipients;
  /** Why `unsent` is not empty, or why the try failed; the breaker's input. */
  failure?: FailureRecord;
  /** A refusal-only outcome says nothing against the server: the breaker sees a success. */
  serverWorked: boolean;
  /** The platform kept the try from happening (KMS unavailable): not the tenant's fault, no health change. */
  platformFault?: PlatformFault;
  /**
   * DATA was not started: too little time was left to wait for its reply. Nothing was sent, nothing is
   * wrong with the server; the message is for the next invocation (no fallback, no health change).
   */
  deferred?: string;
  possibleDuplicate: boolean;
  response?: string;
  durationMs: number;
}

export interface TenantSendInput {
  tenantId: string;
  config: SenderConfig & { smtp: SmtpSettings };
  owed: Recipients;
  raw: Buffer;
  deadline: number;
}

/**
 * Sends through the tenant's server (the sender asks the credentials port for the login when it opens a
 * connection); every outcome, a credentials failure included, comes back as data.
 */
export async function tryTenantSmtp(deps: DispatcherDeps, input: TenantSendInput): Promise<TenantAttempt> {
  const { tenantId, config, owed } = input;
  const { host, port, security, username, passwordCiphertext, oauth2 } = config.smtp;
  const outcome = await deps.smtp.send(
    { tenantId, configVersion: config.version, host, port, security, username, passwordCiphertext, oauth2 },
    { from: config.smtp.fromAddress, to: allOf(owed), raw: input.raw },
    { deadline: input.deadline },
  );
  if (!outcome.ok && outcome.deferred) {
    const { durationMs, error } = outcome;
    const nothing = { accepted: [], finalRefusals: [], unsent: owed, serverWorked: true };
    return { ...nothing, possibleDuplicate: false, deferred: error.message, durationMs };
  }
  return fromOutcome(owed, outcome);
}

function failed(owed: Recipients, info: SmtpErrorInfo, durationMs: number): TenantAttempt {
  const failure = classifySmtpFailure(info);
  const platformFault = platformFaultOf(info);
  return {
    ...(platformFault !== undefined && { platformFault }),
    accepted: [],
    finalRefusals: [],
    unsent: owed,
    failure,
    serverWorked: false,
    possibleDuplicate: failure.class === 'uncertain',
    response: failure.message,
    durationMs,
  };
}

/**
 * Translates the sender's outcome: per-recipient refusals are judged one by one, anything else whole.
 * An address-level permanent refusal at RCPT stays final even when the message then failed (at DATA,
 * or the connection dropped): the fallback must not mail an address the tenant server said does not exist.
 */
function fromOutcome(owed: Recipients, outcome: SmtpSendOutcome): TenantAttempt {
  const finalRefusals = outcome.refused.filter(isFinalRefusal);
  const refusalsOnly = outcome.ok || (outcome.error.code === 'EENVELOPE' && outcome.refused.length > 0);
  if (!refusalsOnly) {
    const rest = without(
      owed,
      finalRefusals.map((r) => r.address),
    );
    return { ...failed(rest, outcome.error, outcome.durationMs), finalRefusals };
  }

  const accepted = outcome.ok ? outcome.accepted : [];
  const retryable = outcome.refused.filter((r) => !isFinalRefusal(r));
  const first = retryable[0];
  const failure: FailureRecord | undefined = first && {
    class: classifyRecipientRefusal(first),
    code: String(first.responseCode ?? 'RCPT'),
    phase: 'RCPT',
    message: first.response ?? 'recipient refused',
    ...(first.responseCode !== undefined && { responseCode: first.responseCode }),
  };
  return {
    accepted,
    finalRefusals,
    unsent: onlyThese(
      owed,
      retryable.map((r) => r.address),
    ),
    ...(failure && { failure }),
    serverWorked: failure === undefined,
    possibleDuplicate: false,
    response: outcome.ok ? outcome.response : (outcome.refused[0]?.response ?? outcome.error.message),
    durationMs: outcome.durationMs,
  };
}
