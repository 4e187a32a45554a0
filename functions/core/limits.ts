import type { SendingLimits } from './oauth2';

/**
 * Per-tenant sending limits (docs/design.md §21 OAuth2, "Sending limits"): `perMinute` counts messages per UTC
 * minute, `perDay` counts recipients per UTC day, as Exchange Online and Google count them. The
 * dispatcher reserves a batch's demand of one tenant in counters shared by every container (one write
 * per window per tenant per batch) and hands the grant out to the messages in order. Pure arithmetic.
 */

/** A message over `perMinute` waits for a later minute at most this long, then leaves by the fallback. */
export const RATE_LIMIT_MAX_WAIT_MS = 10 * 60_000;

/** SQS caps a message's visibility at 12 hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** The counter windows a moment falls in: their names (counter sort keys) and when they end (epoch ms). */
export interface LimitWindows {
  minute: string;
  minuteEndsAt: number;
  day: string;
  dayEndsAt: number;
}

export function limitWindows(nowMs: number): LimitWindows {
  const iso = new Date(nowMs).toISOString();
  const minuteStart = Math.floor(nowMs / 60_000) * 60_000;
  const dayStart = Math.floor(nowMs / 86_400_000) * 86_400_000;
  return {
    minute: `MINUTE#${iso.slice(0, 16)}`,
    minuteEndsAt: minuteStart + 60_000,
    day: `DAY#${iso.slice(0, 10)}`,
    dayEndsAt: dayStart + 86_400_000,
  };
}

/** Whole seconds from `nowMs` until `endsAt` (at least 1, at most SQS's visibility cap). */
export function secondsUntil(endsAt: number, nowMs: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil((endsAt - nowMs) / 1000)));
}

/** True when the tenant has a limit the dispatcher must count. */
export function isLimited(limits: SendingLimits): boolean {
  return limits.perMinute !== undefined || limits.perDay !== undefined;
}

/** What one batch wants of a tenant: its messages and their recipients. */
export interface LimitDemand {
  messages: number;
  recipients: number;
}

/** What the shared counters granted; null where the tenant has no such limit. */
export interface LimitGrant {
  messages: number | null;
  recipients: number | null;
}

/** `ok`: within both limits. `minute`: over perMinute (wait). `day`: over perDay (fallback now). */
export type LimitVerdict = 'ok' | 'minute' | 'day';

/**
 * One batch's grant for one tenant, taken message by message in the tenant's order. A message whose
 * recipients do not fit in what is left of the day's grant is over perDay; one with no message left in
 * the minute's grant is over perMinute. What a refused message did not take stays for the next ones.
 */
export class LimitAllowance {
  private messages: number | null;
  private recipients: number | null;

  constructor(grant: LimitGrant) {
    this.messages = grant.messages;
    this.recipients = grant.recipients;
  }

  take(recipients: number): LimitVerdict {
    if (this.recipients !== null && recipients > this.recipients) return 'day';
    if (this.messages !== null && this.messages < 1) return 'minute';
    if (this.recipients !== null) this.recipients -= recipients;
    if (this.messages !== null) this.messages -= 1;
    return 'ok';
  }
}

/** A message over perMinute that has waited longer than RATE_LIMIT_MAX_WAIT_MS leaves by the fallback. */
export function waitedTooLong(firstSeenMs: number, nowMs: number): boolean {
  return nowMs - firstSeenMs > RATE_LIMIT_MAX_WAIT_MS;
}
