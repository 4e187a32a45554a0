import { createHash } from 'node:crypto';
import { domainOf } from '../core/address';
import { recordRefusedDomain } from '../core/domain-refresh';
import {
  composeFallback,
  composeTenantSender,
  type SenderIdentity,
  sesTags,
  tenantFrom,
} from '../core/fallback';
import { dispatchHeaders } from '../core/headers';
import { limitWindows, secondsUntil, waitedTooLong } from '../core/limits';
import type { QueueMessage } from '../core/message';
import type { SesFailure, SesSendResult } from '../core/ports';
import { decideRoute, fallbackAfterFailure, type RouteDecision } from '../core/route';
import type { FallbackReason, RecipientRefusal, Route, SenderConfig, SmtpSettings } from '../core/types';
import type { BatchState } from './batch-state';
import { reportHealth } from './health-report';
import { limitVerdict } from './limits-step';
import { BOOKKEEPING_MS, type DispatcherDeps, type TenantView } from './ports';
import { allOf, isEmpty, type Recipients } from './recipients';
import { tryTenantSmtp } from './tenant-path';

export interface DeliverInput {
  tenantId: string;
  message: QueueMessage;
  view: TenantView;
  batch: BatchState<TenantView>;
  /** Recipients not yet delivered nor finally refused (an earlier attempt may have settled some). */
  owed: Recipients;
  /** Epoch ms: the invocation's deadline. */
  deadline: number;
  /** The message's idempotency key: its Message-ID is derived from it, the same on every attempt. */
  key: string;
  /** Epoch ms the queue first had the message (SQS SentTimestamp): how long it has waited. */
  firstSeenMs: number;
}

/** One attempt's result. `unsent` non-empty means the attempt did not finish the message. */
export interface DeliverResult {
  route: Route | null;
  fallbackReason: FallbackReason | null;
  tenantAccepted: string[];
  platformAccepted: string[];
  finalRefusals: RecipientRefusal[];
  unsent: Recipients;
  /** Fallback policy `hold`: the tenant path is unusable and SES must not be used. */
  hold?: FallbackReason;
  /** The tenant path had no time left for DATA's reply: nothing sent, for the next invocation. */
  later?: string;
  /** Over the tenant's perMinute limit: nothing sent, visible again after these seconds (status delayed). */
  delayed?: number;
  /** With `hold`: when the reason is over (a sending-limit window's end), in seconds. */
  retryInSeconds?: number;
  /** Why `unsent` is left (an SES failure); for the retry record and the DLQ detail. */
  lastError?: string;
  possibleDuplicate: boolean;
  response?: string;
  providerMessageId?: string;
  timings: { tenantMs?: number; sesMs?: number };
}

type SmtpConfig = SenderConfig & { smtp: SmtpSettings };

/** What every send of one message shares: the deps, the message, and its one Message-ID. */
interface Send {
  deps: DispatcherDeps;
  input: DeliverInput;
  messageId: string;
}

/** One SES send: who it is from, to whom, and how it is tagged. */
interface SesTarget {
  identity: SenderIdentity;
  owed: Recipients;
  route: Route;
  reason: FallbackReason | null;
}

/** What one SES send did, as data. `unverified`: SES refused the domain tier's own From identity. */
type SesOutcome =
  | { kind: 'sent'; accepted: string[]; providerMessageId: string; sesMs: number }
  | { kind: 'unverified'; sesMs: number }
  | { kind: 'paused'; sesMs: number }
  | { kind: 'failed'; lastError: string; possibleDuplicate: boolean; sesMs: number };

const NOBODY: Recipients = { to: [], cc: [], bcc: [] };

/** The result of an attempt that has sent nothing (yet): every recipient still owed. */
export function nothingSent(owed: Recipients): DeliverResult {
  return {
    route: null,
    fallbackReason: null,
    tenantAccepted: [],
    platformAccepted: [],
    finalRefusals: [],
    unsent: owed,
    possibleDuplicate: false,
    timings: {},
  };
}

/** Decides the route, tries the tenant's own path when it is usable, and falls back through SES. */
export async function deliver(deps: DispatcherDeps, input: DeliverInput): Promise<DeliverResult> {
  const { view } = input;
  const decision = await decide(deps, input);
  if (decision.action === 'hold') return { ...nothingSent(input.owed), hold: decision.reason };
  if (decision.action !== 'send') throw new Error('route decision did not settle');
  // One Message-ID for every build and attempt of this message, at the domain of the sender that tries first.
  const firstFrom =
    decision.route === 'platform'
      ? deps.platform.address
      : (tenantFrom(view.config)?.address ?? deps.platform.address);
  const send: Send = {
    deps,
    input,
    messageId: stableMessageId(input.tenantId, input.key, domainOf(firstFrom)),
  };

  if (decision.route === 'domain' && view.config?.domain)
    return viaDomain(send, view.config, view.config.domain.name);
  if (decision.route === 'smtp' && view.config?.smtp) return viaTenantSmtp(send, view.config as SmtpConfig);
  return viaPlatform(send, nothingSent(input.owed), input.owed, decision.fallbackReason);
}

/** Domain tier: SES as the tenant's own verified domain; the platform when SES says it is not verified. */
async function viaDomain(send: Send, config: SenderConfig, domain: string): Promise<DeliverResult> {
  const { deps, input } = send;
  const none = nothingSent(input.owed);
  const own = composeTenantSender(config, input.message);
  if (!own) return none;
  const outcome = await viaSes(send, { identity: own, owed: input.owed, route: 'domain', reason: null });
  const tried = afterSes(none, 'domain', input.owed, outcome);
  if (outcome.kind !== 'unverified') return tried;
  const name = domain.toLowerCase();
  // Remembered before the record: meanwhile nothing else in this container tries the domain or records it.
  const first = !deps.unverifiedDomains.has(name);
  deps.unverifiedDomains.add(name);
  if (first) await recordRefusal(deps, input.tenantId, name);
  return viaPlatform(send, tried, input.owed, 'domain-unverified');
}

/** Records SES's refusal on the tenant's domain claim (§20); a failure to record never fails the mail. */
async function recordRefusal(deps: DispatcherDeps, tenantId: string, domain: string): Promise<void> {
  if (!deps.domains) return;
  try {
    const claim = await recordRefusedDomain(deps.domains, tenantId, domain, deps.clock.now());
    if (claim) deps.logger.info('domain refused by SES', { tenantId, domain, status: claim.status });
  } catch (error) {
    deps.logger.warn('domain refusal not recorded', {
      tenantId,
      domain,
      error: error instanceof Error ? error.name : String(error),
    });
  }
}

/** SMTP tier: the tenant's own server; what it leaves owed goes through the platform (policy permitting). */
async function viaTenantSmtp(send: Send, config: SmtpConfig): Promise<DeliverResult> {
  const { deps, input } = send;
  const none = nothingSent(input.owed);
  const own = composeTenantSender(config, input.message);
  if (!own) return viaPlatform(send, none, input.owed, 'config-invalid');
  const verdict = await limitVerdict(deps, input, config);
  if (verdict !== 'ok') return overLimit(send, none, config, verdict);
  const raw = (await mimeFor(send, own)).raw;
  const attempt = await tryTenantSmtp(deps, {
    tenantId: input.tenantId,
    config,
    owed: input.owed,
    raw,
    deadline: input.deadline - deps.sesReserveMs,
  });
  if (attempt.deferred !== undefined) return { ...none, later: attempt.deferred };
  if (attempt.platformFault) {
    // Not the tenant's fault: health untouched; the rest of the batch skips the path, the next batch decrypts again.
    input.batch.recordFailure(input.tenantId, attempt.platformFault);
    if (config.fallback === 'hold') return { ...none, hold: attempt.platformFault };
    return viaPlatform(send, none, input.owed, attempt.platformFault);
  }
  await reportHealth(deps, input, attempt);
  const tried: DeliverResult = {
    ...none,
    route: 'smtp',
    tenantAccepted: attempt.accepted,
    finalRefusals: attempt.finalRefusals,
    unsent: attempt.unsent,
    possibleDuplicate: attempt.possibleDuplicate,
    timings: { tenantMs: attempt.durationMs },
    ...(attempt.response !== undefined && { response: attempt.response }),
  };
  if (isEmpty(attempt.unsent) || !attempt.failure) return tried;
  const after = fallbackAfterFailure(config, attempt.failure);
  if (after.action === 'hold') return { ...tried, hold: after.reason };
  if (after.action === 'final') return tried;
  return viaPlatform(send, tried, attempt.unsent, after.reason);
}

/**
 * The tenant's own path is over a sending limit (docs/design.md §21): over perMinute the message waits
 * for the next minute (delayed, not an attempt) until it has waited RATE_LIMIT_MAX_WAIT_MS; over
 * perDay, or after that wait, it leaves by the platform (`rate-limited`), or is held until the window
 * ends under the `hold` policy.
 */
async function overLimit(
  send: Send,
  none: DeliverResult,
  config: SmtpConfig,
  verdict: 'minute' | 'day',
): Promise<DeliverResult> {
  const { deps, input } = send;
  const now = deps.clock.now();
  const windows = limitWindows(now);
  const nextMinute = secondsUntil(windows.minuteEndsAt, now);
  if (verdict === 'minute' && !waitedTooLong(input.firstSeenMs, now)) return { ...none, delayed: nextMinute };
  if (config.fallback === 'hold') {
    const retryInSeconds = verdict === 'day' ? secondsUntil(windows.dayEndsAt, now) : nextMinute;
    return { ...none, hold: 'rate-limited', retryInSeconds };
  }
  return viaPlatform(send, none, input.owed, 'rate-limited');
}

/** The platform sender through SES for `owed`, after what `before` did (a split when the tenant took some). */
async function viaPlatform(
  send: Send,
  before: DeliverResult,
  owed: Recipients,
  reason: FallbackReason | null,
): Promise<DeliverResult> {
  const { deps, input } = send;
  const identity = composeFallback(fallbackInput(deps, input.view.config, input.message));
  const route: Route = before.tenantAccepted.length > 0 ? 'split' : 'platform';
  const outcome = await viaSes(send, { identity, owed, route, reason });
  return afterSes({ ...before, fallbackReason: reason }, route, owed, outcome);
}

/** The attempt's result after one SES send of `owed` on `route`. */
function afterSes(before: DeliverResult, route: Route, owed: Recipients, outcome: SesOutcome): DeliverResult {
  const timings = { ...before.timings, sesMs: (before.timings.sesMs ?? 0) + outcome.sesMs };
  if (outcome.kind === 'sent') {
    return {
      ...before,
      route,
      unsent: NOBODY,
      platformAccepted: outcome.accepted,
      providerMessageId: outcome.providerMessageId,
      response: before.response ?? `SES ${outcome.providerMessageId}`,
      timings,
    };
  }
  if (outcome.kind === 'unverified') return { ...before, route, unsent: owed, timings };
  if (outcome.kind === 'paused') {
    return { ...before, route, fallbackReason: 'ses-paused', unsent: owed, hold: 'ses-paused', timings };
  }
  return {
    ...before,
    route,
    unsent: owed,
    lastError: outcome.lastError,
    possibleDuplicate: before.possibleDuplicate || outcome.possibleDuplicate,
    timings,
  };
}

/** Sends through SES; every outcome comes back as data. */
async function viaSes(send: Send, target: SesTarget): Promise<SesOutcome> {
  const { deps, input } = send;
  const { identity, owed, route, reason } = target;
  const started = deps.clock.now();
  let sent: SesSendResult;
  try {
    const { raw } = await mimeFor(send, identity);
    const tags = sesTags({ tenantId: input.tenantId, route, fallbackReason: reason, messageId: input.key });
    // Cut before the deadline, leaving time to record the outcome: past it the lease on the message ends
    // and Lambda kills the invocation, losing what this attempt learned.
    const signal = AbortSignal.timeout(Math.max(0, input.deadline - BOOKKEEPING_MS - deps.clock.now()));
    sent = await deps.ses.send({ from: identity.from.address, raw, destinations: owed, tags, signal });
  } catch (err) {
    // Not an SES answer (the message could not be built): a failure of this attempt like any other.
    const code = err instanceof Error ? err.name : 'Error';
    const message = err instanceof Error ? err.message : String(err);
    sent = { ok: false, error: { code, message, retryable: false, mayHaveSent: false } };
  }
  const sesMs = deps.clock.now() - started;
  if (sent.ok) return { kind: 'sent', accepted: allOf(owed), providerMessageId: sent.messageId, sesMs };
  const { error } = sent;
  if (route === 'domain' && namesSender(error, identity.from.address)) return { kind: 'unverified', sesMs };
  // SES paused the tenant's SES tenant: its mail waits (held), never through another tenant.
  if (error.code === 'SendingPausedException') return { kind: 'paused', sesMs };
  // SES may have sent it: a later attempt could send it again, so the record says so.
  const context = { tenantId: input.tenantId, messageId: input.key, code: error.code, route };
  deps.logger.warn(
    error.mayHaveSent ? 'SES send failed after SES may have sent it: possible duplicate' : 'SES send failed',
    context,
  );
  const lastError = `SES ${error.code}: ${error.message}`.slice(0, 500);
  return { kind: 'failed', lastError, possibleDuplicate: error.mayHaveSent, sesMs };
}

function fallbackInput(deps: DispatcherDeps, config: SenderConfig | null, message: QueueMessage) {
  return { config, platform: deps.platform, message: { replyTo: message.replyTo } };
}

/** The same MIME message for every route (same Message-ID); only From and Reply-To differ. */
function mimeFor({ deps, input, messageId }: Send, identity: SenderIdentity) {
  const m = input.message;
  return deps.mime({
    from: identity.fromHeader,
    ...(identity.replyTo !== null && { replyTo: identity.replyTo }),
    to: m.to,
    ...(m.cc !== undefined && { cc: m.cc }),
    subject: m.subject,
    ...(m.text !== undefined && { text: m.text }),
    ...(m.html !== undefined && { html: m.html }),
    headers: dispatchHeaders(m),
    messageId,
  });
}

/**
 * Whether SES's "not verified" refusal is about our From (address or its domain) rather than a recipient
 * (the SES sandbox refuses unverified recipients with the same error). No identity named: the sender.
 */
function namesSender(error: SesFailure, from: string): boolean {
  if (error.unverified === undefined) return false;
  if (error.unverified.length === 0) return true;
  const address = from.toLowerCase();
  return error.unverified.some((identity) => identity === address || identity === domainOf(address));
}

/** A retry or a fallback carries the same Message-ID, so receivers can thread or drop a duplicate. */
function stableMessageId(tenantId: string, key: string, domain: string): string {
  const digest = createHash('sha256').update(`${tenantId}\n${key}`).digest('base64url').slice(0, 32);
  return `<${digest}@${domain}>`;
}

async function decide(deps: DispatcherDeps, input: DeliverInput): Promise<RouteDecision> {
  const { view, tenantId } = input;
  const now = deps.clock.now();
  const domain = view.config?.mode === 'domain' ? view.config.domain?.name.toLowerCase() : undefined;
  const base = {
    config: view.config,
    health: view.health,
    now,
    ...(input.batch.failureOf(tenantId) !== undefined && { batchFailure: input.batch.failureOf(tenantId) }),
    domainUnverified: domain !== undefined && deps.unverifiedDomains.has(domain),
  };
  const first = decideRoute(base);
  if (first.action !== 'claim-probe' || !view.config) return first;
  const version = view.config.version;
  const leaseUntil = new Date(input.deadline).toISOString();
  const probeClaimed = await input.batch.probe(tenantId, () =>
    deps.store.claimProbe(tenantId, version, leaseUntil, now),
  );
  return decideRoute({ ...base, probeClaimed });
}
