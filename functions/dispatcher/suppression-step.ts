import type { SQSRecord } from 'aws-lambda';
import { errorText } from '../core/errors';
import { parseQueueMessage } from '../core/message';
import {
  type SuppressedPair,
  suppressedKey,
  suppressesAfterRefusal,
  suppressionAddress,
  suppressionDetail,
} from '../core/suppression';
import type { RecipientRefusal } from '../core/types';
import type { DispatcherDeps } from './ports';
import { allOf, owedRecipients, type Recipients, without } from './recipients';

/**
 * The per-tenant suppression list in the dispatcher (docs/design.md §19 Delivery events and
 * suppression): one lookup for the whole batch, suppressed recipients dropped before any send, and a
 * tenant server's 5.1.x refusal added to the list.
 */

/** The batch's suppressed `<tenantId>\n<address>` pairs, looked up once (BatchGetItem, ≤ 100 keys a call). */
export type SuppressionLookup = () => Promise<Set<string>>;

/** Looks up every recipient of every valid message of the batch on first use, once per invocation. */
export function batchSuppressionLookup(deps: DispatcherDeps, records: SQSRecord[]): SuppressionLookup {
  let pending: Promise<Set<string>> | undefined;
  return () => {
    if (!pending) {
      const pairs: SuppressedPair[] = [];
      for (const record of records) {
        const parsed = parseQueueMessage(record.body);
        if (!parsed.ok) continue;
        const { tenantId } = parsed.message;
        for (const address of allOf(owedRecipients(parsed.message))) {
          const key = suppressionAddress(address);
          if (key !== null) pairs.push({ tenantId, address: key });
        }
      }
      pending = deps.suppressions.suppressedAmong(pairs);
      // A failed lookup is tried again by the next message rather than failing all of them.
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

/** The owed recipients the tenant does not suppress, and those it does. */
export function dropSuppressed(
  tenantId: string,
  owed: Recipients,
  suppressed: Set<string>,
): { owed: Recipients; suppressed: string[] } {
  const dropped = allOf(owed).filter((a) =>
    suppressed.has(suppressedKey(tenantId, suppressionAddress(a) ?? a)),
  );
  return dropped.length === 0
    ? { owed, suppressed: [] }
    : { owed: without(owed, dropped), suppressed: dropped };
}

/**
 * Adds the tenant server's permanent 5.1.x refusals to the tenant's list (reason `bounce`, source
 * `smtp`). The message is settled already: a store error is logged, never thrown.
 */
export async function suppressRefused(
  deps: DispatcherDeps,
  tenantId: string,
  messageId: string,
  refusals: RecipientRefusal[],
): Promise<void> {
  const at = new Date(deps.clock.now()).toISOString();
  for (const refusal of refusals.filter(suppressesAfterRefusal)) {
    const address = suppressionAddress(refusal.address);
    if (address === null) continue;
    const detail = suppressionDetail(refusal.response ?? String(refusal.responseCode ?? ''));
    try {
      await deps.suppressions.putSuppression(tenantId, {
        address,
        reason: 'bounce',
        source: 'smtp',
        at,
        messageId,
        ...(detail && { detail }),
      });
    } catch (err) {
      deps.logger.error('suppression not written', {
        tenantId,
        messageId,
        error: errorText(err),
      });
    }
  }
}
