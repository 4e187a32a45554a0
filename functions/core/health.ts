/**
 * The tenant SMTP circuit breaker (docs/design.md §10 Health). Pure: the store writes what this decides,
 * conditional on `configVersion`.
 */
import { breakerRetryAt, timeOf } from './retry';
import type { FailureClass, FailureRecord, HealthState } from './types';

/** Consecutive counted failures that open the breaker. */
export const FAILURES_TO_OPEN = 3;
/** A success while healthy rewrites lastSuccessAt at most this often. */
export const SUCCESS_WRITE_INTERVAL_MS = 5 * 60_000;

const OPENS_AT_ONCE: ReadonlySet<FailureClass> = new Set([
  'tls',
  'auth',
  'credentials',
  'config-invalid',
  'server-throttled',
]);

/** Whether a failure of this class counts toward opening the breaker (all but recipient-rejected). */
export function countsTowardUnhealthy(cls: FailureClass): boolean {
  return cls !== 'recipient-rejected';
}

/** Whether one failure of this class opens the breaker at once. */
export function opensAtOnce(cls: FailureClass): boolean {
  return OPENS_AT_ONCE.has(cls);
}

export type HealthEvent = { type: 'success' } | { type: 'failure'; failure: FailureRecord };

export interface HealthTransition {
  health: HealthState;
  /** The HEALTH item must be written. */
  changed: boolean;
  transition: 'opened' | 'closed' | 'reopened' | null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function onSuccess(current: HealthState, now: number): HealthTransition {
  const wasUnhealthy = current.state === 'unhealthy';
  const due = now - timeOf(current.lastSuccessAt) >= SUCCESS_WRITE_INTERVAL_MS;
  if (!wasUnhealthy && current.consecutiveFailures === 0 && current.backoffLevel === 0 && !due) {
    return { health: current, changed: false, transition: null };
  }
  const health: HealthState = {
    ...current,
    state: 'healthy',
    consecutiveFailures: 0,
    backoffLevel: 0,
    retryAt: null,
    probeLeaseUntil: null,
    lastSuccessAt: iso(now),
  };
  return { health, changed: true, transition: wasUnhealthy ? 'closed' : null };
}

function onFailure(current: HealthState, failure: FailureRecord, now: number): HealthTransition {
  // A refused recipient proves the server answered: it is no evidence against the tenant path.
  if (!countsTowardUnhealthy(failure.class)) return { health: current, changed: false, transition: null };
  const recorded: HealthState = {
    ...current,
    consecutiveFailures: current.consecutiveFailures + 1,
    lastFailure: { ...failure, at: iso(now) },
  };
  if (current.state === 'healthy') {
    if (recorded.consecutiveFailures < FAILURES_TO_OPEN && !opensAtOnce(failure.class)) {
      return { health: recorded, changed: true, transition: null };
    }
    const retryAt = iso(breakerRetryAt(now, current.backoffLevel));
    const health: HealthState = { ...recorded, state: 'unhealthy', retryAt, probeLeaseUntil: null };
    return { health, changed: true, transition: 'opened' };
  }
  // Only a failure at or after retryAt is a probe's. An earlier one comes from a container that still
  // saw the breaker closed; letting it raise the backoff would let N racing containers jump N levels.
  if (now < timeOf(current.retryAt)) return { health: recorded, changed: true, transition: null };
  const backoffLevel = current.backoffLevel + 1;
  const retryAt = iso(breakerRetryAt(now, backoffLevel));
  const health: HealthState = { ...recorded, backoffLevel, retryAt, probeLeaseUntil: null };
  return { health, changed: true, transition: 'reopened' };
}

/**
 * The breaker's next state after a tenant send. 3 consecutive counted failures (or one that opens at
 * once) open it; a failed probe reopens it one backoff level higher; a success closes it and resets the
 * counters. `changed` says whether the HEALTH item must be written: on any state change or counted
 * failure, and for a success while healthy only when lastSuccessAt is 5 min old or more.
 * recipient-rejected never counts and changes nothing.
 */
export function nextHealth(current: HealthState, event: HealthEvent, now: number): HealthTransition {
  return event.type === 'success' ? onSuccess(current, now) : onFailure(current, event.failure, now);
}

/** A probe may be claimed: unhealthy, now ≥ retryAt, and no other container holds a live probe lease. */
export function probeDue(h: HealthState, now: number): boolean {
  return h.state === 'unhealthy' && now >= timeOf(h.retryAt) && now >= timeOf(h.probeLeaseUntil);
}

/**
 * Whether the tenant path may be tried now: the breaker is closed, or a probe is due (the caller must
 * still win the probe claim). False means fallback reason `unhealthy`.
 */
export function isTenantPathOpen(h: HealthState, now: number): boolean {
  return h.state === 'healthy' || probeDue(h, now);
}
