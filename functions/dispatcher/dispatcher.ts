import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseQueueMessage } from '../core/message';
import { initialHealth } from '../core/types';
import { BatchState } from './batch-state';
import type { DispatcherDeps, TenantView } from './ports';
import { deadLetter, processMessage, RetryLaterError } from './process-message';
import { allOf, owedRecipients } from './recipients';
import { batchSuppressionLookup } from './suppression-step';

export type DispatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The dispatcher: one SQS batch → partial batch response. Records of different tenants run in
 * parallel; one tenant's records run in order through its pool, sharing one read of its config and
 * health and the memory of a failure earlier in the batch.
 */
export function createDispatcher(deps: DispatcherDeps): DispatchHandler {
  return async (event, context) => {
    // One processor per invocation: it keeps per-batch state, and a local poller may overlap batches.
    const processor = new BatchProcessor(EventType.SQS);
    const deadline = deps.clock.now() + context.getRemainingTimeInMillis();
    const parsedRecords = new Map(event.Records.map((r) => [r.messageId, parseQueueMessage(r.body)]));
    const batch = new BatchState<TenantView>(async (tenantId) => {
      const { config, health } = await deps.store.loadTenant(tenantId);
      const version = config?.version ?? 0;
      return { config, health: health && health.configVersion === version ? health : initialHealth(version) };
    }, demandOf(parsedRecords.values()));
    const suppressed = batchSuppressionLookup(deps, event.Records);

    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const parsed = parsedRecords.get(record.messageId) ?? parseQueueMessage(record.body);
      if (!parsed.ok) {
        // Never retried: a bad message cannot get better. Verbatim to the DLQ, reported done.
        await deadLetter(deps, { record }, 'validation', parsed.detail, parsed.tenantId);
        return;
      }
      const message = parsed.message;
      await batch.inTenantOrder(message.tenantId, () =>
        processMessage(deps, { record, message, batch, deadline, suppressed }),
      );
    };

    try {
      return await processPartialResponse(event, recordHandler, processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    } finally {
      for (const error of processor.errors) {
        if (error instanceof RetryLaterError) deps.logger.info('left queued', { reason: error.message });
        else deps.logger.error('record failed', { error });
      }
      // Dimensioned metrics went out at once; publishing an empty buffer would only log a warning.
      if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
    }
  };
}

/** Per tenant, the batch's valid messages and their recipients (a sending-limit reservation's ask). */
function demandOf(parsed: Iterable<ReturnType<typeof parseQueueMessage>>) {
  const demand = new Map<string, { messages: number; recipients: number }>();
  for (const p of parsed) {
    if (!p.ok) continue;
    const d = demand.get(p.message.tenantId) ?? { messages: 0, recipients: 0 };
    d.messages += 1;
    d.recipients += allOf(owedRecipients(p.message)).length;
    demand.set(p.message.tenantId, d);
  }
  return demand;
}
