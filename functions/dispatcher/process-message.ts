import type { SQSRecord } from 'aws-lambda';
import { type DeliveryRecord, deliverySkFor, isFinalStatus } from '../adapters/dynamo-store';
import type { QueueMessage } from '../core/message';
import { holdExpired, holdVisibilitySeconds, retryBackoffSeconds } from '../core/retry';
import type { DeliveryStatus, DlqReason } from '../core/types';
import type { BatchState } from './batch-state';
import { type DeliverResult, deliver } from './deliver';
import { emit } from './observe';
import type { DispatcherDeps, TenantView } from './ports';
import { allOf, isEmpty, owedRecipients } from './recipients';

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
}

/**
 * One valid message: take its idempotency claim, deliver what is still owed, record the outcome, and
 * either finish (return) or leave it queued with its visibility set (throw RetryLaterError).
 */
export async function processMessage(deps: DispatcherDeps, job: MessageJob): Promise<void> {
  const { record, message, deadline } = job;
  const tenantId = message.tenantId;
  const key = message.idempotencyKey ?? record.messageId;
  const started = deps.clock.now();
  const claim = await deps.store.claimMessage({
    tenantId,
    key,
    leaseUntil: deadline,
    deliverySk: deliverySkFor(new Date(started).toISOString(), key),
    now: started,
  });
  if (claim.outcome === 'done') {
    deps.logger.info('duplicate of a finished message: nothing sent', { tenantId, messageId: key });
    return;
  }
  if (claim.outcome === 'leased') {
    await deps.queue.changeVisibility(record.receiptHandle, Math.ceil((claim.leaseUntil - started) / 1000));
    throw new RetryLaterError('another invocation holds this message');
  }
  const previous = claim.firstClaim ? null : await deps.store.getDelivery(tenantId, claim.deliverySk);
  if (previous && isFinalStatus(previous.status)) {
    await deps.store.markMessageDone(tenantId, key);
    deps.logger.info('redelivery of a finished message: nothing sent', { tenantId, messageId: key });
    return;
  }

  const settled = [...(previous?.accepted ?? []), ...(previous?.rejected.map((r) => r.address) ?? [])];
  let result: DeliverResult;
  let view: TenantView;
  try {
    view = await job.batch.tenant(tenantId);
    result = await deliver(deps, {
      tenantId,
      message,
      view,
      batch: job.batch,
      owed: owedRecipients(message, settled),
      deadline,
      key,
    });
  } catch (err) {
    await deps.store.releaseMessage(tenantId, key, deadline).catch(() => false);
    throw err;
  }
  const outcome: Outcome = {
    tenantId,
    key,
    deliverySk: claim.deliverySk,
    attempts: claim.attempts,
    previous,
    started,
    view,
  };

  if (result.hold) return hold(deps, job, result, outcome);
  if (!isEmpty(result.unsent)) return retryOrGiveUp(deps, job, result, outcome);

  const status = finalStatus(result, previous);
  await deps.store.putDelivery(tenantId, deliveryRecord(deps, message, result, outcome, status));
  // Sent counts delivered messages (sent or partial); one every recipient refused was not delivered.
  if (result.route && status !== 'rejected') {
    emit(deps.metrics, 'sent', 1, { route: result.route });
    emit(deps.metrics, 'sendLatency', deps.clock.now() - started, { route: result.route });
  }
  countFallback(deps, outcome, result);
}

interface Outcome {
  tenantId: string;
  key: string;
  deliverySk: string;
  attempts: number;
  previous: DeliveryRecord | null;
  started: number;
  view: TenantView;
}

function finalStatus(result: DeliverResult, previous: DeliveryRecord | null): DeliveryStatus {
  const delivered =
    result.tenantAccepted.length + result.platformAccepted.length + (previous?.accepted.length ?? 0);
  const refused = result.finalRefusals.length + (previous?.rejected.length ?? 0);
  if (refused === 0) return 'sent';
  return delivered > 0 ? 'partial' : 'rejected';
}

function deliveryRecord(
  deps: DispatcherDeps,
  message: QueueMessage,
  result: DeliverResult,
  o: Outcome,
  status: DeliveryStatus,
  detail?: string,
): DeliveryRecord {
  const accepted = [...(o.previous?.accepted ?? []), ...result.tenantAccepted, ...result.platformAccepted];
  const rejected = [...(o.previous?.rejected ?? []), ...result.finalRefusals];
  const route =
    o.previous?.route && o.previous.accepted.length > 0 && result.route !== o.previous.route
      ? 'split'
      : result.route;
  return {
    sk: o.deliverySk,
    messageId: o.key,
    kind: message.kind,
    route,
    fallbackReason: result.fallbackReason ?? result.hold ?? null,
    status,
    accepted,
    rejected,
    ...(result.providerMessageId !== undefined && { providerMessageId: result.providerMessageId }),
    ...(result.response !== undefined && { response: result.response.slice(0, 500) }),
    attempts: o.attempts,
    timings: { totalMs: deps.clock.now() - o.started, ...result.timings },
    ...((result.possibleDuplicate || o.previous?.possibleDuplicate) && { possibleDuplicate: true }),
    ...(detail !== undefined && { detail }),
    at: new Date(deps.clock.now()).toISOString(),
  };
}

/** SES could not take what is owed: back off, or dead-letter after MAX_ATTEMPTS (counted in the claim). */
async function retryOrGiveUp(deps: DispatcherDeps, job: MessageJob, result: DeliverResult, o: Outcome) {
  const detail = result.lastError ?? 'no route could deliver';
  if (o.attempts >= deps.maxAttempts) {
    await deadLetter(deps, job, 'undeliverable', `after ${o.attempts} attempts: ${detail}`, o.tenantId);
    await deps.store.putDelivery(o.tenantId, deliveryRecord(deps, job.message, result, o, 'dead', detail));
    countFallback(deps, o, result);
    return;
  }
  await deps.store.putDelivery(o.tenantId, deliveryRecord(deps, job.message, result, o, 'retrying', detail));
  await leaveQueued(deps, job, o, retryBackoffSeconds(o.attempts));
  throw new RetryLaterError(`attempt ${o.attempts} of ${deps.maxAttempts} failed: ${detail}`);
}

/** Fallback policy `hold`: the message waits for the tenant path, exempt from MAX_ATTEMPTS, until it expires. */
async function hold(deps: DispatcherDeps, job: MessageJob, result: DeliverResult, o: Outcome) {
  const now = deps.clock.now();
  const sent = Number(job.record.attributes.SentTimestamp);
  const sentMs = Number.isFinite(sent) ? sent : now;
  if (holdExpired(sentMs, now, deps.holdMaxAgeSeconds)) {
    const detail = `held longer than ${deps.holdMaxAgeSeconds} s (last reason: ${result.hold})`;
    await deadLetter(deps, job, 'held-expired', detail, o.tenantId);
    await deps.store.putDelivery(o.tenantId, deliveryRecord(deps, job.message, result, o, 'dead', detail));
    return;
  }
  const seconds = holdVisibilitySeconds({
    health: o.view.health,
    now,
    attempt: o.attempts,
    sentTimestampMs: sentMs,
    holdMaxAgeSeconds: deps.holdMaxAgeSeconds,
  });
  await deps.store.putDelivery(o.tenantId, deliveryRecord(deps, job.message, result, o, 'held'));
  emit(deps.metrics, 'held', 1);
  await leaveQueued(deps, job, o, seconds);
  throw new RetryLaterError(`held for the tenant path (${result.hold}); next try in ${seconds} s`);
}

async function leaveQueued(deps: DispatcherDeps, job: MessageJob, o: Outcome, seconds: number) {
  await deps.store.releaseMessage(o.tenantId, o.key, job.deadline);
  await deps.queue.changeVisibility(job.record.receiptHandle, seconds);
}

/** Sends the message body verbatim to the DLQ with the contract's attributes. */
export async function deadLetter(
  deps: DispatcherDeps,
  job: { record: SQSRecord },
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
