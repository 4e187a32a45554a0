import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { AlertEmitter } from '../core/alerts';
import type { DlqEntry } from '../core/ports';
import {
  hourBucket,
  REPUTATION_WARNING_INTERVAL_MS,
  type ReputationCounts,
  type ReputationStore,
  reputationWarning,
  windowStartBucket,
} from '../core/reputation';
import {
  type EventDlqReason,
  parseSesEvent,
  type SesEvent,
  suppressionsFrom,
  timelineEntries,
} from '../core/ses-events';
import type { SuppressionStore } from '../core/suppression';
import type { Clock } from '../core/types';
import { EVENT_METRICS, type EventMetricKey } from './metrics';

/**
 * The delivery events function (docs/design.md §19 Delivery events and suppression): SES event records
 * from the configuration set's SNS topic, delivered raw to its SQS queue. Each record suppresses what it
 * must for its delivery's tenant and appends to the delivery's timeline; a record it cannot use goes to
 * its own DLQ with a reason and never fails the batch.
 */

export interface EventsDeps {
  suppressions: SuppressionStore;
  /** The events DLQ (reason, detail and tenantId attributes, body verbatim). */
  deadLetters: { sendToDlq(entry: DlqEntry): Promise<{ messageId: string }> };
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  metrics: Pick<Metrics, 'singleMetric' | 'hasStoredMetrics' | 'publishStoredMetrics'>;
  clock: Clock;
  /**
   * Receives of a record whose delivery is not recorded (yet) before it goes to the DLQ as
   * `delivery-not-found`; until then it is retried (SES can report before the dispatcher records).
   */
  maxReceives: number;
  /** Each tenant's 24-hour counts; with `alerts`, a tenant over SES's rates gets `reputation.warning`. */
  reputation?: ReputationStore;
  alerts?: Pick<AlertEmitter, 'reputationWarning'>;
}

export type EventsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** The delivery is not recorded yet: leave the record queued for its visibility timeout. */
export class NotRecordedYetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotRecordedYetError';
  }
}

export function createEventsHandler(deps: EventsDeps): EventsHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(
        event,
        (record: SQSRecord) => handleRecord(deps, record),
        processor,
        {
          context,
          throwOnFullBatchFailure: false,
        },
      );
    } finally {
      for (const error of processor.errors) {
        if (error instanceof NotRecordedYetError) deps.logger.info('left queued', { reason: error.message });
        else deps.logger.error('event record failed', { error });
      }
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  };
}

async function handleRecord(deps: EventsDeps, record: SQSRecord): Promise<void> {
  const parsed = parseSesEvent(record.body);
  if (!parsed.ok) {
    await deadLetter(deps, record, parsed.reason, parsed.detail);
    return;
  }
  const { event, ref, id } = parsed;
  // Suppressions first: they hold even when the delivery is never found.
  for (const entry of suppressionsFrom(event, ref.messageId)) {
    await deps.suppressions.putSuppression(ref.tenantId, entry);
    deps.logger.info('address suppressed', { tenantId: ref.tenantId, reason: entry.reason, eventId: id });
  }
  const entries = timelineEntries(event);
  if (entries.length > 0) {
    const outcome = await deps.suppressions.appendEvents({
      tenantId: ref.tenantId,
      messageId: ref.messageId,
      providerMessageId: event.mail.messageId,
      eventId: id,
      events: entries,
    });
    if (outcome === 'duplicate') return;
    if (outcome === 'not-recorded') {
      const receives = Number(record.attributes.ApproximateReceiveCount);
      if (!(receives >= deps.maxReceives)) {
        throw new NotRecordedYetError(`delivery ${ref.messageId} of ${ref.tenantId} not recorded yet`);
      }
      await deadLetter(
        deps,
        record,
        'delivery-not-found',
        `${event.eventType}: no delivery ${ref.messageId} with SES message ${event.mail.messageId} after ${receives} receives`,
        ref.tenantId,
      );
    }
  }
  countRates(deps, event);
  await trackReputation(deps, ref.tenantId, event);
}

/**
 * Counts the tenant's recipients, hard bounces and complaints in the current hour; after a bounce or a
 * complaint, judges the last 24 hours and, over SES's rates, claims the tenant's daily warning slot
 * (one conditional write: one event however many containers see it) and queues `reputation.warning`.
 */
async function trackReputation(deps: EventsDeps, tenantId: string, event: SesEvent): Promise<void> {
  if (!deps.reputation) return;
  const counts: Partial<ReputationCounts> =
    event.eventType === 'Send'
      ? { recipients: event.mail.destination?.length ?? 1 }
      : event.eventType === 'Bounce' && event.bounce.bounceType === 'Permanent'
        ? { bounces: event.bounce.bouncedRecipients.length }
        : event.eventType === 'Complaint'
          ? { complaints: event.complaint.complainedRecipients.length }
          : {};
  if (Object.keys(counts).length === 0) return;
  const now = deps.clock.now();
  await deps.reputation.add(tenantId, hourBucket(now), counts, Math.ceil(now / 1000) + 2 * 86_400);
  if (counts.recipients !== undefined || !deps.alerts) return;
  const warning = reputationWarning(await deps.reputation.totals(tenantId, windowStartBucket(now)));
  if (!warning) return;
  if (!(await deps.reputation.claimWarning(tenantId, now, REPUTATION_WARNING_INTERVAL_MS))) return;
  await deps.alerts.reputationWarning({ tenantId, ...warning });
  deps.logger.warn('tenant over an SES reputation rate', {
    tenantId,
    kind: warning.kind,
    rate: warning.rate,
  });
}

/** Recipients sent, hard-bounced and complained about, per SES route tag (the rate alarms' inputs). */
function countRates(deps: EventsDeps, event: SesEvent): void {
  const route = event.mail.tags?.route?.[0] ?? 'none';
  if (event.eventType === 'Send') count(deps, 'sends', event.mail.destination?.length ?? 1, route);
  if (event.eventType === 'Bounce' && event.bounce.bounceType === 'Permanent') {
    count(deps, 'bounces', event.bounce.bouncedRecipients.length, route);
  }
  if (event.eventType === 'Complaint')
    count(deps, 'complaints', event.complaint.complainedRecipients.length, route);
}

function count(deps: EventsDeps, key: EventMetricKey, value: number, dimension: string): void {
  const spec = EVENT_METRICS[key];
  const single = deps.metrics.singleMetric();
  for (const name of spec.dimensions) single.addDimension(name, dimension);
  single.addMetric(spec.name, MetricUnit.Count, value);
}

async function deadLetter(
  deps: EventsDeps,
  record: SQSRecord,
  reason: EventDlqReason,
  detail: string,
  tenantId?: string,
): Promise<void> {
  await deps.deadLetters.sendToDlq({
    body: record.body,
    reason,
    detail,
    ...(tenantId !== undefined && { tenantId }),
  });
  count(deps, 'deadLettered', 1, reason);
  deps.logger.warn('event dead-lettered', { reason, detail, messageId: record.messageId });
}
