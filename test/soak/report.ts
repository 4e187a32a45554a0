import type { DeliveryView } from '../../functions/config-api/schemas';

/** How one message ended: its final delivery record, or the DLQ with a reason. */
export interface Outcome {
  key: string;
  delivery?: DeliveryView;
  dlqReason?: string;
}

/** The soak's accounting: where every message went, duplicates with their reason, and the lost ones. */
export function accountingTable(
  total: number,
  outcomes: Map<string, Outcome>,
  duplicates: Map<string, string>,
): { table: string; lost: number } {
  const rows: Array<[string, number]> = [];
  const count = (what: (o: Outcome) => boolean) => [...outcomes.values()].filter(what).length;
  const routed = (route: string) => (o: Outcome) =>
    o.delivery?.route === route && o.delivery.status !== 'rejected';
  rows.push(['sent via tenant (smtp)', count(routed('smtp'))]);
  rows.push(['sent via platform (SES)', count(routed('platform'))]);
  const reasons = new Map<string, number>();
  for (const o of outcomes.values()) {
    if (o.delivery?.route !== 'platform' || o.delivery.status === 'rejected') continue;
    const reason = o.delivery.fallbackReason ?? 'mode platform';
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  for (const [reason, n] of [...reasons].sort()) rows.push([`  reason ${reason}`, n]);
  rows.push(['split (tenant + platform)', count(routed('split'))]);
  rows.push(['refused for good (5.1.x, all recipients)', count((o) => o.delivery?.status === 'rejected')]);
  rows.push(['  of which partial (some recipients)', count((o) => o.delivery?.status === 'partial')]);
  rows.push(['suppressed', count((o) => o.delivery?.status === 'suppressed')]);
  const dlq = new Map<string, number>();
  for (const o of outcomes.values()) {
    if (o.dlqReason !== undefined) dlq.set(o.dlqReason, (dlq.get(o.dlqReason) ?? 0) + 1);
  }
  rows.push(['DLQ', [...dlq.values()].reduce((a, b) => a + b, 0)]);
  for (const [reason, n] of [...dlq].sort()) rows.push([`  reason ${reason}`, n]);
  const dupReasons = new Map<string, number>();
  for (const reason of duplicates.values()) dupReasons.set(reason, (dupReasons.get(reason) ?? 0) + 1);
  rows.push(['duplicates (a recipient got it twice)', duplicates.size]);
  for (const [reason, n] of [...dupReasons].sort()) rows.push([`  ${reason}`, n]);
  const lost = total - outcomes.size;
  rows.push(['lost', lost]);
  rows.push(['total enqueued', total]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const table = rows.map(([label, n]) => `${label.padEnd(width)}  ${String(n).padStart(6)}`).join('\n');
  return { table, lost };
}
