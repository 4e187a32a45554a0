import type { QueueMessage } from '../core/message';
import type { DeliveryRecord } from '../core/ports';
import type { DeliveryStatus, Route } from '../core/types';
import type { DeliverResult } from './deliver';
import type { DispatcherDeps, TenantView } from './ports';

/** What one attempt of one message knows besides the deliver result: its claim and what came before. */
export interface Outcome {
  tenantId: string;
  key: string;
  deliveryId: string;
  attempts: number;
  /** The delivery item an earlier attempt wrote (its accepted and rejected are settled), if any. */
  previous: DeliveryRecord | null;
  started: number;
  view: TenantView;
  /** Recipients this attempt left out because the tenant suppresses them. */
  suppressed: string[];
}

/** Status of a message with nothing left owed: sent, partial (some refused for good) or rejected. */
export function finalStatus(result: DeliverResult, previous: DeliveryRecord | null): DeliveryStatus {
  const delivered =
    result.tenantAccepted.length + result.platformAccepted.length + (previous?.accepted.length ?? 0);
  const refused = result.finalRefusals.length + (previous?.rejected.length ?? 0);
  if (refused === 0) return 'sent';
  return delivered > 0 ? 'partial' : 'rejected';
}

/** This attempt's route, seen over the whole message: a different route than one that already delivered is a split. */
function routeOf(result: DeliverResult, previous: DeliveryRecord | null): Route | null {
  // Nothing was sent this time (held before any send): the message keeps the route it had.
  if (result.route === null) return previous?.route ?? null;
  if (previous?.route && previous.accepted.length > 0 && result.route !== previous.route) return 'split';
  return result.route;
}

/** The delivery item for this attempt, carrying forward what earlier attempts settled. */
export function deliveryRecord(
  deps: DispatcherDeps,
  message: QueueMessage,
  result: DeliverResult,
  o: Outcome,
  status: DeliveryStatus,
  detail?: string,
): DeliveryRecord {
  const accepted = [...(o.previous?.accepted ?? []), ...result.tenantAccepted, ...result.platformAccepted];
  const rejected = [...(o.previous?.rejected ?? []), ...result.finalRefusals];
  // Held and delayed attempts sent nothing and are not the tenant's failure: exempt from MAX_ATTEMPTS.
  const heldAttempts = (o.previous?.heldAttempts ?? 0) + (status === 'held' || status === 'delayed' ? 1 : 0);
  const suppressed = [...new Set([...(o.previous?.suppressed ?? []), ...o.suppressed])];
  return {
    id: o.deliveryId,
    messageId: o.key,
    kind: message.kind,
    route: routeOf(result, o.previous),
    fallbackReason: result.fallbackReason ?? result.hold ?? null,
    status,
    accepted,
    rejected,
    ...(result.providerMessageId !== undefined && { providerMessageId: result.providerMessageId }),
    ...(result.response !== undefined && { response: result.response.slice(0, 500) }),
    attempts: o.attempts,
    ...(heldAttempts > 0 && { heldAttempts }),
    timings: { totalMs: deps.clock.now() - o.started, ...result.timings },
    ...((result.possibleDuplicate || o.previous?.possibleDuplicate) && { possibleDuplicate: true }),
    ...(detail !== undefined && { detail }),
    at: new Date(deps.clock.now()).toISOString(),
    ...(suppressed.length > 0 && { suppressed }),
  };
}
