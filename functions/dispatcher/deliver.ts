import { createHash } from 'node:crypto';
import { IdentityNotVerifiedError, SesSendError } from '../core/errors';
import {
  composeFallback,
  composeTenantSender,
  type SenderIdentity,
  sesTags,
  tenantFrom,
} from '../core/fallback';
import { dispatchHeaders } from '../core/headers';
import { type HealthEvent, nextHealth } from '../core/health';
import type { QueueMessage } from '../core/message';
import { decideRoute, fallbackAfterFailure, type RouteDecision } from '../core/route';
import type {
  FailureRecord,
  FallbackReason,
  RecipientRefusal,
  Route,
  SenderConfig,
  SmtpSettings,
} from '../core/types';
import { initialHealth } from '../core/types';
import type { BatchState } from './batch-state';
import { emit } from './observe';
import { BOOKKEEPING_MS, type DispatcherDeps, type TenantView } from './ports';
import { allOf, isEmpty, type Recipients } from './recipients';
import { type TenantAttempt, tryTenantSmtp } from './tenant-path';

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
  /** Why `unsent` is left (an SES failure); for the retry record and the DLQ detail. */
  lastError?: string;
  possibleDuplicate: boolean;
  response?: string;
  providerMessageId?: string;
  timings: { tenantMs?: number; sesMs?: number };
}

type SmtpConfig = SenderConfig & { smtp: SmtpSettings };

/** Decides the route, tries the tenant's own path when it is usable, and falls back through SES. */
export async function deliver(deps: DispatcherDeps, input: DeliverInput): Promise<DeliverResult> {
  const { view, message } = input;
  const decision = await decide(deps, input);
  const result: DeliverResult = {
    route: null,
    fallbackReason: null,
    tenantAccepted: [],
    platformAccepted: [],
    finalRefusals: [],
    unsent: input.owed,
    possibleDuplicate: false,
    timings: {},
  };
  if (decision.action === 'hold') return { ...result, hold: decision.reason };
  if (decision.action !== 'send') throw new Error('route decision did not settle');
  // One Message-ID for every build and attempt of this message, at the domain of the sender that tries first.
  const firstFrom =
    decision.route === 'platform'
      ? deps.platform.address
      : (tenantFrom(view.config)?.address ?? deps.platform.address);
  const messageId = stableMessageId(input.tenantId, input.key, domainOf(firstFrom));

  if (decision.route === 'domain' && view.config?.domain) {
    const own = composeTenantSender(view.config, message);
    const sent = own && (await viaSes(deps, input, own, messageId, input.owed, 'domain', null, result));
    if (sent !== 'unverified') return result;
    deps.unverifiedDomains.add(view.config.domain.name.toLowerCase());
    return platform(deps, input, messageId, input.owed, 'domain-unverified', result);
  }
  if (decision.route === 'smtp' && view.config?.smtp) {
    const config = view.config as SmtpConfig;
    const own = composeTenantSender(config, message);
    if (!own) return platform(deps, input, messageId, input.owed, 'config-invalid', result);
    const raw = (await mimeFor(deps, input, own, messageId)).raw;
    const attempt = await tryTenantSmtp(deps, {
      tenantId: input.tenantId,
      config,
      owed: input.owed,
      raw,
      deadline: input.deadline - deps.sesReserveMs,
    });
    if (attempt.platformFault) {
      // Not the tenant's fault: health untouched; the rest of the batch skips the path, the next batch decrypts again.
      input.batch.recordFailure(input.tenantId, attempt.platformFault);
      if (config.fallback === 'hold') return { ...result, hold: attempt.platformFault };
      return platform(deps, input, messageId, input.owed, attempt.platformFault, result);
    }
    await reportHealth(deps, input, attempt);
    result.route = 'smtp';
    result.tenantAccepted = attempt.accepted;
    result.finalRefusals = attempt.finalRefusals;
    result.unsent = attempt.unsent;
    result.possibleDuplicate = attempt.possibleDuplicate;
    result.timings.tenantMs = attempt.durationMs;
    if (attempt.response !== undefined) result.response = attempt.response;
    if (isEmpty(attempt.unsent) || !attempt.failure) return result;
    const after = fallbackAfterFailure(config, attempt.failure);
    if (after.action === 'hold') return { ...result, hold: after.reason };
    if (after.action === 'final') return result;
    return platform(deps, input, messageId, attempt.unsent, after.reason, result);
  }
  return platform(deps, input, messageId, input.owed, decision.fallbackReason, result);
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

/**
 * Feeds the tenant attempt to the breaker; writes HEALTH only when it must, conditional on the config
 * version and on the breaker state it decided from. When another container changed the breaker
 * meanwhile, re-reads it once and decides again, so a stale read never closes an opened breaker.
 * A store error here is logged, never thrown: the tenant server may already have the message, and a
 * thrown error would leave it unrecorded, to be sent again on redelivery (or keep the fallback from
 * going out).
 */
async function reportHealth(
  deps: DispatcherDeps,
  input: DeliverInput,
  attempt: TenantAttempt,
): Promise<void> {
  const { tenantId } = input;
  const failure: FailureRecord | undefined = attempt.serverWorked ? undefined : attempt.failure;
  if (failure) input.batch.recordFailure(tenantId, failure.class);
  const event: HealthEvent = failure ? { type: 'failure', failure } : { type: 'success' };
  try {
    await writeHealthFor(deps, input, event);
  } catch (err) {
    deps.logger.warn('health not written: store error', {
      tenantId,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
}

async function writeHealthFor(deps: DispatcherDeps, input: DeliverInput, event: HealthEvent): Promise<void> {
  const { view, tenantId } = input;
  for (let round = 0; round < 2; round += 1) {
    const previous = view.health;
    const next = nextHealth(previous, event, deps.clock.now());
    view.health = next.health;
    if (!next.changed) return;
    if (await deps.store.writeHealth(tenantId, next.health, previous)) {
      if (next.transition === 'opened') emit(deps.metrics, 'breakerOpened', 1);
      if (next.transition === 'closed') emit(deps.metrics, 'breakerClosed', 1);
      if (next.transition) deps.logger.info('tenant breaker', { tenantId, transition: next.transition });
      // Only the write that made the transition tells the tenant (docs/design.md §18 Tenant alerts).
      if (next.transition) {
        const fallback = view.config?.fallback ?? 'platform';
        await deps.alerts?.breakerChanged({
          tenantId,
          transition: next.transition,
          health: next.health,
          previous,
          fallback,
        });
      }
      return;
    }
    const fresh = await deps.store.loadTenant(tenantId);
    const version = view.config?.version ?? 0;
    if ((fresh.config?.version ?? 0) !== version) {
      deps.logger.info('health not written: config changed meanwhile', { tenantId });
      return;
    }
    view.health =
      fresh.health && fresh.health.configVersion === version ? fresh.health : initialHealth(version);
  }
  deps.logger.info('health not written: breaker kept changing', { tenantId });
}

async function platform(
  deps: DispatcherDeps,
  input: DeliverInput,
  messageId: string,
  owed: Recipients,
  reason: FallbackReason | null,
  result: DeliverResult,
): Promise<DeliverResult> {
  const identity = composeFallback(fallbackInput(deps, input.view.config, input.message));
  const route: Route = result.tenantAccepted.length > 0 ? 'split' : 'platform';
  result.fallbackReason = reason;
  await viaSes(deps, input, identity, messageId, owed, route, reason, result);
  return result;
}

/** Sends through SES; fills `result` in place. 'unverified' when SES refused the From identity. */
async function viaSes(
  deps: DispatcherDeps,
  input: DeliverInput,
  identity: SenderIdentity,
  messageId: string,
  owed: Recipients,
  route: Route,
  reason: FallbackReason | null,
  result: DeliverResult,
): Promise<'sent' | 'failed' | 'unverified'> {
  result.route = route;
  result.unsent = owed;
  const started = deps.clock.now();
  try {
    const { raw } = await mimeFor(deps, input, identity, messageId);
    const tags = sesTags({ tenantId: input.tenantId, route, fallbackReason: reason, messageId: input.key });
    // Cut before the deadline, leaving time to record the outcome: past it the lease on the message ends
    // and Lambda kills the invocation, losing what this attempt learned.
    const signal = AbortSignal.timeout(Math.max(0, input.deadline - BOOKKEEPING_MS - deps.clock.now()));
    const sent = await deps.ses.send({ from: identity.from.address, raw, destinations: owed, tags, signal });
    result.platformAccepted = allOf(owed);
    result.unsent = { to: [], cc: [], bcc: [] };
    result.providerMessageId = sent.messageId;
    result.response ??= `SES ${sent.messageId}`;
    return 'sent';
  } catch (err) {
    if (
      err instanceof IdentityNotVerifiedError &&
      route === 'domain' &&
      namesSender(err, identity.from.address)
    ) {
      return 'unverified';
    }
    const code = err instanceof SesSendError ? err.code : err instanceof Error ? err.name : 'Error';
    result.lastError = `SES ${code}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500);
    // SES may have sent it: a later attempt could send it again, so the record says so.
    const doubt = err instanceof SesSendError && err.mayHaveSent;
    if (doubt) result.possibleDuplicate = true;
    const context = { tenantId: input.tenantId, messageId: input.key, code, route };
    deps.logger.warn(
      doubt ? 'SES send failed after SES may have sent it: possible duplicate' : 'SES send failed',
      context,
    );
    return 'failed';
  } finally {
    result.timings.sesMs = (result.timings.sesMs ?? 0) + (deps.clock.now() - started);
  }
}

function fallbackInput(deps: DispatcherDeps, config: SenderConfig | null, message: QueueMessage) {
  return { config, platform: deps.platform, message: { replyTo: message.replyTo } };
}

/** The same MIME message for every route (same Message-ID); only From and Reply-To differ. */
function mimeFor(deps: DispatcherDeps, input: DeliverInput, identity: SenderIdentity, messageId: string) {
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
function namesSender(err: IdentityNotVerifiedError, from: string): boolean {
  if (err.identities.length === 0) return true;
  const address = from.toLowerCase();
  return err.identities.some((identity) => identity === address || identity === domainOf(address));
}

/** A retry or a fallback carries the same Message-ID, so receivers can thread or drop a duplicate. */
function stableMessageId(tenantId: string, key: string, domain: string): string {
  const digest = createHash('sha256').update(`${tenantId}\n${key}`).digest('base64url').slice(0, 32);
  return `<${digest}@${domain}>`;
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
