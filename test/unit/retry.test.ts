import { describe, expect, it } from 'vitest';
import {
  breakerDelayMs,
  breakerRetryAt,
  countedAttempts,
  holdExpired,
  holdVisibilitySeconds,
  retryBackoffSeconds,
  timeOf,
} from '../../functions/core/retry';
import { type HealthState, initialHealth } from '../../functions/core/types';

const NOW = Date.parse('2025-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();

describe('retryBackoffSeconds', () => {
  it.each([
    [1, 5],
    [2, 10],
    [3, 20],
    [4, 40],
    [5, 80],
    [8, 640],
    [9, 900],
    [50, 900],
    [5000, 900],
    [Number.POSITIVE_INFINITY, 900],
    [0, 5],
    [-3, 5],
    [Number.NaN, 5],
    [2.7, 10],
  ])('attempt %s → %i s', (attempt, seconds) => {
    expect(retryBackoffSeconds(attempt)).toBe(seconds);
  });
});

describe('breaker delay', () => {
  it.each([
    [0, 60_000],
    [1, 120_000],
    [5, 1_920_000],
    [6, 3_600_000],
    [100, 3_600_000],
    [-1, 60_000],
  ])('level %i → %i ms', (level, ms) => {
    expect(breakerDelayMs(level)).toBe(ms);
    expect(breakerRetryAt(NOW, level)).toBe(NOW + ms);
  });
});

describe('holdVisibilitySeconds', () => {
  const open = (over: Partial<HealthState>): HealthState => ({
    ...initialHealth(1),
    state: 'unhealthy',
    ...over,
  });

  it.each([
    ['closed breaker → retry backoff', initialHealth(1), 3, 20],
    ['closed breaker, late attempt → capped backoff', initialHealth(1), 20, 900],
    ['open → until retryAt', open({ retryAt: at(NOW + 90_500) }), 1, 91],
    [
      'open, retryAt past, live lease → until the lease ends',
      open({ retryAt: at(NOW - 1), probeLeaseUntil: at(NOW + 30_000) }),
      1,
      30,
    ],
    ['open, retryAt past → retry backoff', open({ retryAt: at(NOW - 1) }), 2, 10],
    ['open far ahead → 12 h cap', open({ retryAt: at(NOW + 20 * 3_600_000) }), 1, 43_200],
    ['open, retryAt in 10 ms → at least 1 s', open({ retryAt: at(NOW + 10) }), 1, 1],
  ])('%s', (_name, health, attempt, seconds) => {
    expect(holdVisibilitySeconds({ health, now: NOW, attempt })).toBe(seconds);
  });

  it.each([
    ['expiry further than the breaker', 3_600, 91],
    ['expiry sooner than the breaker', 60, 61],
    ['already expired', -10, 1],
  ])('never hides past the hold expiry: %s', (_name, secondsLeft, seconds) => {
    // Prepare
    const holdMaxAgeSeconds = 86_400;
    const sentTimestampMs = NOW - (holdMaxAgeSeconds - secondsLeft) * 1000;

    // Act
    const v = holdVisibilitySeconds({
      health: open({ retryAt: at(NOW + 90_500) }),
      now: NOW,
      attempt: 1,
      sentTimestampMs,
      holdMaxAgeSeconds,
    });

    // Assess
    expect(v).toBe(seconds);
  });
});

describe('countedAttempts', () => {
  it('leaves out held attempts, so counting starts at a switch from hold to platform', () => {
    expect(countedAttempts(1, 0)).toBe(1);
    expect(countedAttempts(5, 0)).toBe(5);
    expect(countedAttempts(5, 4)).toBe(1);
    expect(countedAttempts(7, 4)).toBe(3);
  });

  it('never counts less than the attempt running now', () => {
    expect(countedAttempts(3, 3)).toBe(1);
    expect(countedAttempts(2, 9)).toBe(1);
    expect(countedAttempts(2, -1)).toBe(2);
  });
});

describe('holdExpired', () => {
  it.each([
    [NOW - 86_400_000 + 1, false],
    [NOW - 86_400_000, false],
    [NOW - 86_400_001, true],
    [NOW, false],
  ])('sent at %i → %s', (sent, expired) => {
    expect(holdExpired(sent, NOW, 86_400)).toBe(expired);
  });
});

describe('timeOf', () => {
  it.each([
    [null, Number.NEGATIVE_INFINITY],
    [undefined, Number.NEGATIVE_INFINITY],
    ['nonsense', Number.NEGATIVE_INFINITY],
    [at(NOW), NOW],
  ])('%s → %s', (iso, ms) => {
    expect(timeOf(iso)).toBe(ms);
  });
});
