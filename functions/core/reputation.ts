/**
 * A tenant's SES reputation over the last 24 hours (docs/design.md §19 "Reputation warning"): recipients
 * sent, hard-bounced and complained about, counted per UTC hour, judged against the rates SES itself
 * reviews an account at. Pure.
 */

export const BOUNCE_RATE_WARNING = 0.05;
export const COMPLAINT_RATE_WARNING = 0.001;
/** Below this many recipients in 24 hours a rate says nothing (1 bounce of 10 is not 10 %). */
export const REPUTATION_MIN_RECIPIENTS = 100;
/** At most one warning per tenant per this interval. */
export const REPUTATION_WARNING_INTERVAL_MS = 24 * 3600_000;

export interface ReputationCounts {
  recipients: number;
  bounces: number;
  complaints: number;
}

/** The hour bucket a moment counts in (`HOUR#yyyy-mm-ddThh`, UTC). */
export function hourBucket(nowMs: number): string {
  return `HOUR#${new Date(nowMs).toISOString().slice(0, 13)}`;
}

/** The oldest bucket of the 24 hours before `nowMs` (the current hour and the 23 before it). */
export function windowStartBucket(nowMs: number): string {
  return hourBucket(nowMs - 23 * 3600_000);
}

export interface ReputationWarningData {
  kind: 'bounce' | 'complaint';
  rate: number;
  threshold: number;
  recipients: number;
  bounces: number;
  complaints: number;
}

/** The warning the counts call for (complaints first: SES's threshold is the stricter), or null. */
export function reputationWarning(c: ReputationCounts): ReputationWarningData | null {
  if (c.recipients < REPUTATION_MIN_RECIPIENTS) return null;
  const base = { recipients: c.recipients, bounces: c.bounces, complaints: c.complaints };
  const complaintRate = c.complaints / c.recipients;
  if (complaintRate >= COMPLAINT_RATE_WARNING) {
    return { kind: 'complaint', rate: complaintRate, threshold: COMPLAINT_RATE_WARNING, ...base };
  }
  const bounceRate = c.bounces / c.recipients;
  if (bounceRate >= BOUNCE_RATE_WARNING) {
    return { kind: 'bounce', rate: bounceRate, threshold: BOUNCE_RATE_WARNING, ...base };
  }
  return null;
}

/** The store of the 24-hour counts (own pk prefix `REPUTATION#<tenantId>`). */
export interface ReputationStore {
  add(
    tenantId: string,
    bucket: string,
    counts: Partial<ReputationCounts>,
    expiresAtSeconds: number,
  ): Promise<void>;
  /** Sums the buckets from `sinceBucket` on. */
  totals(tenantId: string, sinceBucket: string): Promise<ReputationCounts>;
  /** Claims the tenant's warning slot; false while a warning less than `intervalMs` old holds it. */
  claimWarning(tenantId: string, nowMs: number, intervalMs: number): Promise<boolean>;
}
