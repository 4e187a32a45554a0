/** Retry, breaker and hold timing (docs/design.md §11 Timeouts and timing, §4 Sender tiers). Pure arithmetic. */
import type { HealthState } from './types';

export const RETRY_BASE_SECONDS = 5;
/** 15 min. */
export const RETRY_CAP_SECONDS = 900;
export const BREAKER_BASE_MS = 60_000;
/** 1 h. */
export const BREAKER_CAP_MS = 3_600_000;
/** SQS's own ceiling for a message's visibility timeout (12 h). */
export const HOLD_VISIBILITY_CAP_SECONDS = 43_200;

/** Doubles `base` per step from 0, capped; safe for huge or odd steps (no overflow, no NaN). */
function capped(base: number, step: number, cap: number): number {
  const n = Number.isFinite(step) ? Math.max(0, Math.floor(step)) : step > 0 ? 64 : 0;
  // 2^n grows past any cap long before n reaches 64, so the clamp keeps the result exact.
  return Math.min(cap, base * 2 ** Math.min(n, 64));
}

/**
 * Attempts that count toward MAX_ATTEMPTS: every claimed attempt except those that ended held under the
 * fallback policy `hold`, so a tenant switching from `hold` to `platform` starts counting at the switch.
 */
export function countedAttempts(attempts: number, heldAttempts: number): number {
  return Math.max(1, attempts - Math.max(0, heldAttempts));
}

/** Visibility delay before send attempt `attempt + 1`: 5 s × 2^(attempt−1), cap 15 min; attempt ≥ 1. */
export function retryBackoffSeconds(attempt: number): number {
  return capped(RETRY_BASE_SECONDS, attempt - 1, RETRY_CAP_SECONDS);
}

/** Breaker delay for a backoff level: 1 min × 2^level, cap 1 h. */
export function breakerDelayMs(backoffLevel: number): number {
  return capped(BREAKER_BASE_MS, backoffLevel, BREAKER_CAP_MS);
}

/** When the breaker may next be probed (epoch ms): now + 1 min × 2^backoffLevel, cap 1 h. */
export function breakerRetryAt(now: number, backoffLevel: number): number {
  return now + breakerDelayMs(backoffLevel);
}

export interface HoldVisibilityInput {
  health: HealthState;
  now: number;
  /** Send attempts so far (≥ 1), for the backoff while the breaker is closed. */
  attempt: number;
  /** With `holdMaxAgeSeconds`: never hide the message past its hold expiry (it then goes to the DLQ). */
  sentTimestampMs?: number;
  holdMaxAgeSeconds?: number;
}

/**
 * Visibility timeout (s) for a held message: until the breaker's retryAt (or a live probe lease's end)
 * while it is open, else the retry backoff; at least 1 s, at most 12 h, and not past the hold expiry.
 */
export function holdVisibilitySeconds(input: HoldVisibilityInput): number {
  const { health, now } = input;
  let seconds = retryBackoffSeconds(input.attempt);
  if (health.state === 'unhealthy') {
    const until = Math.max(timeOf(health.retryAt), timeOf(health.probeLeaseUntil));
    if (until > now) seconds = Math.ceil((until - now) / 1000);
  }
  if (input.sentTimestampMs !== undefined && input.holdMaxAgeSeconds !== undefined) {
    const expiresAt = input.sentTimestampMs + input.holdMaxAgeSeconds * 1000;
    // +1 s so that the next receive finds it strictly past its expiry.
    seconds = Math.min(seconds, Math.ceil((expiresAt - now) / 1000) + 1);
  }
  return Math.min(HOLD_VISIBILITY_CAP_SECONDS, Math.max(1, seconds));
}

/** True once a held message is older than `holdMaxAgeSeconds` (from its SQS SentTimestamp). */
export function holdExpired(sentTimestampMs: number, now: number, holdMaxAgeSeconds: number): boolean {
  return now - sentTimestampMs > holdMaxAgeSeconds * 1000;
}

/** An ISO time as epoch ms; null or unparsable → -Infinity (i.e. "long past"). */
export function timeOf(iso: string | null | undefined): number {
  if (iso === null || iso === undefined) return Number.NEGATIVE_INFINITY;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}
