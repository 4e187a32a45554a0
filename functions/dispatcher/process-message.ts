import type { SQSRecord } from 'aws-lambda';
import { errorText } from '../core/errors';
import { isTenantPathOpen } from '../core/health';
import { contentHash } from '../core/idempotency';
import type { QueueMessage } from '../core/message';
import type { ClaimOutcome, DeliveryRecord } from '../core/ports';
import { countedAttempts, holdExpired, holdVisibilitySeconds, retryBackoffSeconds } from '../core/retry';
import { type DlqReason, isFinalStatus } from '../core/types';
import type { BatchState } from './batch-state';
import { type DeliverResult, deliver, nothingSent } from './deliver';
import { deliveryRecord, finalStatus, type Outcome } from './delivery-record';
import { emit } from './observe';
import { type DispatcherDeps, MIN_TENANT_WINDOW_MS, type TenantView } from './ports';
import { allOf, isEmpty, owedRecipients } from './recipients';
import { dropSuppressed, type SuppressionLookup, suppressRefused } from './suppression-step';

/** The record stays on the queue (a batch item failure); its visibility was already set. */
export class RetryLaterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

export interface MessageJob {
  record: SQSRecord;
  message: QueueMessage;
  batch: BatchState<TenantView>;
  /** Epoch ms: the invocation's deadline (the claim's lease ends there). */
  deadline: number;
  /** The batch's suppressed recipients (one lookup per batch). */
  suppressed: SuppressionLookup;
}

/**
 * One valid message: take its idempotency claim, deliver what is still owed, record the outcome, and
 * either finish (return) or leave it queued with its visibility set (throw RetryLaterError).
 *
 * Without transactions, a send and its record are two steps: if the invocation dies between them (or
 * the record cannot be written and the claim cannot be marked done either), a redelivery after the
 * lease sends what the record does not show as settled again. Everything here keeps that window small:
 * no send starts without the time to record it, and a store error after a send never fails the message.
 */
export async function processMessage(deps: DispatcherDeps, job: MessageJob): Promise<void> {
  const { record, message, deadline } = job;
  const tenantId = message.tenantId;
  const key = message.idempotencyKey ?? record.messageId;
  // Read before the claim: a failed read, or too little time, costs the message no attempt.
  const view = await job.batch.tenant(tenantId);
  const suppressedPairs = await job.suppressed();
  const started = deps.clock.now();
  if (deadline - started < timeNeeded(deps, job, view, started)) {
    await deps.queue.changeVisibility(record.receiptHandle, 0);
    throw new RetryLaterError('too little time left in this invocation: left for the next one');
  }
  const claim = await deps.store.claimMessage({
    tenantId,
    key,
    leaseUntil: deadline,
    now: started,
    contentHash: contentHash(message),
  });
  if (claim.outcome === 'conflict') {
    // Never retried: the key belongs to another message. Verbatim to the DLQ, reported done.
    const detail = 'idempotencyKey already used for a message with other content; this one was not sent';
    await deadLetter(deps, job, 'idempotency-conflict', detail, tenantId);
    return;
  }
  if (claim.outcome === 'done') {
    deps.logger.info('duplicate of a finished message: nothing sent', { tenantId, messageId: key });
    return;
  }
  if (claim.outcome === 'leased') {
    await deps.queue.changeVisibility(record.receiptHandle, Math.ceil((claim.leaseUntil - started) / 1000));
    throw new RetryLaterError('another invocation holds this message');
  }
  let previous: DeliveryRecord | null = null;
  let result: DeliverResult;
  let suppressed: string[] = [];
  try {
    previous = claim.firstClaim ? null : await deps.store.getDelivery(tenantId, claim.deliveryId);
    if (previous && isFinalStatus(previous.status)) {
      await deps.store.markMessageDone(tenantId, key);
      deps.logger.info('redelivery of a finished message: nothing sent', { tenantId, messageId: key });
      return;
    }
    const settled = [...(previous?.accepted ?? []), ...(previous?.rejected.map((r) => r.address) ?? [])];
    const owed = dropSuppressed(tenantId, owedRecipients(message, settled), suppressedPairs);
    suppressed = owed.suppressed;
    result =
      isEmpty(owed.owed) && suppressed.length > 0
        ? nothingSent(owed.owed)
        : await deliver(deps, {
            tenantId,
            message,
            view,
            batch: job.batch,
            owed: owed.owed,
            deadline,
            key,
            firstSeenMs: firstSeen(job, started),
          });
  } catch (err) {
    await deps.store.releaseMessage(tenantId, key, deadline).catch(() => false);
    throw err;
  }
  if (unrecordedAttempt(claim, previous)) {
    // The attempt before this one ended without releasing its lease or leaving its record: it may have
    // sent before it died, so what this one sends may be a second copy (docs/design.md §12).
    deps.logger.warn('an earlier attempt ended without a record and may have sent: possible duplicate', {
      tenantId,
      messageId: key,
      attempt: claim.attempts,
    });
    result = { ...result, possibleDuplicate: true };
  }
  const outcome: Outcome = {
    tenantId,
    key,
    deliveryId: claim.deliveryId,
    attempts: claim.attempts,
    previous,
    started,
    view,
    suppressed,
  };
  await suppressRefused(deps, tenantId, key, result.finalRefusals);

  if (result.later !== undefined) return later(deps, job, result, outcome);
  if (result.delayed !== undefined) return delayed(deps, job, result, outcome, result.delayed);
  if (result.hold) return hold(deps, job, result, outcome);
  if (!isEmpty(result.unsent)) return retryOrGiveUp(deps, job, result, outcome);

  // Every recipient still owed is suppressed: final, nothing sent, no fallback (docs/design.md §19).
  const allSuppressed = result.route === null && suppressed.length > 0 && !previous?.accepted.length;
  const status = allSuppressed ? 'suppressed' : finalStatus(result, previous);
  if (suppressed.length > 0) emit(deps.metrics, 'suppressed', suppressed.length);
  await recordFinal(deps, outcome, deliveryRecord(deps, message, result, outcome, status));
  // Sent counts delivered messages (sent or partial); one every recipient refused was not delivered.
  if (result.route && status !== 'rejected') {
    emit(deps.metrics, 'sent', 1, { route: result.route });
    emit(deps.metrics, 'sendLatency', deps.clock.now() - started, { route: result.route });
  }
  countFallback(deps, outcome, result);
}

/** A lapsed lease whose holder (the attempt just before this one) wrote no delivery record. */
function unrecordedAttempt(
  claim: Extract<ClaimOutcome, { outcome: 'claimed' }>,
  previous: DeliveryRecord | null,
): boolean {
  return claim.lapsed && (previous?.attempts ?? 0) < claim.attempts - 1;
}

/**
 * The time (ms) a message needs before its deadline: the SES reserve, plus the least tenant window when
 * its tenant's SMTP path would be tried (the route decision, less the probe claim it may still need).
 */
function timeNeeded(deps: DispatcherDeps, job: MessageJob, view: TenantView, now: number): number {
  const { config, health } = view;
  const batchFailure = job.batch.failureOf(job.message.tenantId);
  const tenantSmtp =
    config?.mode === 'smtp' &&
    config.smtp !== undefined &&
    (batchFailure === undefined || batchFailure === 'recipient-rejected') &&
    isTenantPathOpen(health, now);
  return deps.sesReserveMs + (tenantSmtp ? (deps.minTenantWindowMs ?? MIN_TENANT_WINDOW_MS) : 0);
}

/**
 * Writes a final record (sent, partial, rejected, dead). The mail already went out (or to the DLQ), so a
 * store error must not fail the message: SQS would deliver it again and, with no final record to find,
 * it would be sent again. The claim is marked done instead (a redelivery then sends nothing) and the
 * loss of the record is logged.
 */
async function recordFinal(deps: DispatcherDeps, o: Outcome, record: DeliveryRecord): Promise<void> {
  try {
    await deps.store.putDelivery(o.tenantId, record);
    return;
  } catch (err) {
    const context = { tenantId: o.tenantId, messageId: o.key, status: record.status, error: errorText(err) };
    deps.logger.error('delivery record not written; marking the claim done instead', context);
  }
  try {
    await deps.store.markMessageDone(o.tenantId, o.key);
  } catch (err) {
    deps.logger.error('claim not marked done: a redelivery after the lease would send again', {
      tenantId: o.tenantId,
      messageId: o.key,
      error: errorText(err),
    });
  }
}

/**
 * Writes a record of a message that stays queued (retrying, held). On a store error the message still
 * backs off as planned; what this attempt settled is then unknown to the next one, which sends it again.
 */
async function recordPending(deps: DispatcherDeps, o: Outcome, record: DeliveryRecord): Promise<void> {
  await deps.store.putDelivery(o.tenantId, record).catch((err: unknown) => {
    deps.logger.error('delivery record not written; the next attempt may send settled recipients again', {
      tenantId: o.tenantId,
      messageId: o.key,
      status: record.status,
      error: errorText(err),
    });
  });
}

/**
 * The DLQ keeps the body verbatim, with every recipient; when some already have the message (a split),
 * the detail says so first (before any cut), so whoever redrives it does not mail them again.
 */
function deliveredNote(message: QueueMessage, record: DeliveryRecord): string {
  if (record.accepted.length === 0) return '';
  const total = allOf(owedRecipients(message)).length;
  return ` (already delivered to ${record.accepted.length} of ${total} recipients; see the delivery record)`;
}

/**
 * SES could not take what is owed: back off, or dead-letter after MAX_ATTEMPTS (counted in the claim,
 * less the attempts held under the `hold` policy: docs/design.md §4 Sender tiers).
 */
async function retryOrGiveUp(deps: DispatcherDeps, job: MessageJob, result: DeliverResult, o: Outcome) {
  const detail = result.lastError ?? 'no route could deliver';
  const attempts = countedAttempts(o.attempts, o.previous?.heldAttempts ?? 0);
  if (attempts >= deps.maxAttempts) {
    const dead = deliveryRecord(deps, job.message, result, o, 'dead', detail);
    const dlqDetail = `after ${attempts} attempts${deliveredNote(job.message, dead)}: ${detail}`;
    await deadLetter(deps, job, 'undeliverable', dlqDetail, o.tenantId);
    await recordFinal(deps, o, dead);
    countFallback(deps, o, result);
    return;
  }
  await recordPending(deps, o, deliveryRecord(deps, job.message, result, o, 'retrying', detail));
  await leaveQueued(deps, job, o, retryBackoffSeconds(attempts));
  throw new RetryLaterError(`attempt ${attempts} of ${deps.maxAttempts} failed: ${detail}`);
}

/** Fallback policy `hold`: the message waits for the tenant path, exempt from MAX_ATTEMPTS, until it expires. */
async function hold(deps: DispatcherDeps, job: MessageJob, result: DeliverResult, o: Outcome) {
  const now = deps.clock.now();
  const sentMs = firstSeen(job, now);
  if (holdExpired(sentMs, now, deps.holdMaxAgeSeconds)) {
    const detail = `held longer than ${deps.holdMaxAgeSeconds} s (last reason: ${result.hold})`;
    const dead = deliveryRecord(deps, job.message, result, o, 'dead', detail);
    await deadLetter(deps, job, 'held-expired', `${detail}${deliveredNote(job.message, dead)}`, o.tenantId);
    await recordFinal(deps, o, dead);
    return;
  }
  // A sending limit's hold lasts until its window ends; any other until the tenant path may work again.
  const seconds =
    result.retryInSeconds ??
    holdVisibilitySeconds({
      health: o.view.health,
      now,
      attempt: o.attempts,
      sentTimestampMs: sentMs,
      holdMaxAgeSeconds: deps.holdMaxAgeSeconds,
    });
  await recordPending(deps, o, deliveryRecord(deps, job.message, result, o, 'held'));
  emit(deps.metrics, 'held', 1);
  await leaveQueued(deps, job, o, seconds);
  throw new RetryLaterError(`held for the tenant path (${result.hold}); next try in ${seconds} s`);
}

/**
 * The tenant path had too little time left to wait for the reply after DATA: nothing was sent and the
 * tenant is not to blame. Recorded as held (so it does not count toward MAX_ATTEMPTS) and made visible
 * again at once for the next invocation, which starts with its whole time.
 */
async function later(deps: DispatcherDeps, job: MessageJob, result: DeliverResult, o: Outcome) {
  await recordPending(deps, o, deliveryRecord(deps, job.message, result, o, 'held', result.later));
  await leaveQueued(deps, job, o, 0);
  throw new RetryLaterError(`left for the next invocation: ${result.later}`);
}

/**
 * Over the tenant's perMinute limit (docs/design.md §21): nothing sent, not an attempt (recorded as
 * `delayed`, exempt from MAX_ATTEMPTS like held), visible again when the next minute window opens.
 */
async function delayed(
  deps: DispatcherDeps,
  job: MessageJob,
  result: DeliverResult,
  o: Outcome,
  seconds: number,
) {
  await recordPending(
    deps,
    o,
    deliveryRecord(deps, job.message, result, o, 'delayed', 'over the perMinute limit'),
  );
  emit(deps.metrics, 'delayed', 1);
  await leaveQueued(deps, job, o, seconds);
  throw new RetryLaterError(`over the tenant's perMinute limit; next try in ${seconds} s`);
}

/** Epoch ms the queue first had the message (SQS SentTimestamp; `fallback` when absent). */
function firstSeen(job: MessageJob, fallback: number): number {
  const sent = Number(job.record.attributes.SentTimestamp);
  return Number.isFinite(sent) ? sent : fallback;
}

/** Releases the lease and sets the visibility; either may fail without keeping the other from happening. */
async function leaveQueued(deps: DispatcherDeps, job: MessageJob, o: Outcome, seconds: number) {
  const [released, visible] = await Promise.allSettled([
    deps.store.releaseMessage(o.tenantId, o.key, job.deadline),
    deps.queue.changeVisibility(job.record.receiptHandle, seconds),
  ]);
  // Not released: a redelivery meets the live lease and waits for its end. Visibility not set: the
  // message comes back after the queue's own visibility timeout. Neither loses or duplicates mail.
  const context = { tenantId: o.tenantId, messageId: o.key };
  if (released.status === 'rejected') {
    deps.logger.warn('lease not released', { ...context, error: errorText(released.reason) });
  }
  if (visible.status === 'rejected') {
    deps.logger.warn('visibility not set', { ...context, error: errorText(visible.reason) });
  }
}

/** Sends the message body verbatim to the DLQ with the contract's attributes. */
export async function deadLetter(
  deps: DispatcherDeps,
  job: { record: SQSRecord; message?: QueueMessage },
  reason: DlqReason,
  detail: string,
  tenantId?: string,
): Promise<void> {
  await deps.queue.sendToDlq({
    body: job.record.body,
    reason,
    detail,
    ...(tenantId !== undefined && { tenantId }),
  });
  emit(deps.metrics, 'deadLettered', 1, { reason });
  if (tenantId !== undefined)
    await deps.alerts?.deadLettered({ tenantId, reason, messageId: job.record.messageId });
  deps.logger.warn('dead-lettered', { reason, detail, messageId: job.record.messageId, tenantId });
}

function countFallback(deps: DispatcherDeps, o: Outcome, result: DeliverResult) {
  if (result.fallbackReason && result.platformAccepted.length > 0) {
    emit(deps.metrics, 'fallback', 1, { reason: result.fallbackReason });
  }
  const mode = o.view.config?.mode;
  if (mode === 'smtp' || mode === 'domain') {
    emit(deps.metrics, 'tenantRouteWanted', 1);
    if (result.platformAccepted.length > 0) emit(deps.metrics, 'tenantRouteFallback', 1);
  }
  if (allOf(result.unsent).length === 0 && result.possibleDuplicate) {
    deps.logger.warn('possible duplicate: the tenant server may have the message too', {
      tenantId: o.tenantId,
    });
  }
}
