import { describe, expect, it } from 'vitest';
import {
  isLimited,
  LimitAllowance,
  limitWindows,
  RATE_LIMIT_MAX_WAIT_MS,
  secondsUntil,
  waitedTooLong,
} from '../../functions/core/limits';

describe('sending-limit windows', () => {
  it('names the UTC minute and day a moment falls in and when each ends', () => {
    // Act
    const w = limitWindows(Date.parse('2026-12-31T23:59:30.500Z'));

    // Assess
    expect(w).toEqual({
      minute: 'MINUTE#2026-12-31T23:59',
      minuteEndsAt: Date.parse('2027-01-01T00:00:00Z'),
      day: 'DAY#2026-12-31',
      dayEndsAt: Date.parse('2027-01-01T00:00:00Z'),
    });
  });

  it('waits at least a second and at most the 12 hours SQS allows', () => {
    expect(secondsUntil(1000, 1000)).toBe(1);
    expect(secondsUntil(30_500, 0)).toBe(31);
    expect(secondsUntil(86_400_000, 0)).toBe(43_200);
  });

  it('counts only configured limits, and waits 10 minutes at most', () => {
    expect(isLimited({})).toBe(false);
    expect(isLimited({ perDay: 2000 })).toBe(true);
    expect(waitedTooLong(0, RATE_LIMIT_MAX_WAIT_MS)).toBe(false);
    expect(waitedTooLong(0, RATE_LIMIT_MAX_WAIT_MS + 1)).toBe(true);
  });
});

describe('a batch allowance', () => {
  it('hands out messages and recipients in order, day before minute, keeping what a refusal did not take', () => {
    // Prepare
    const allowance = new LimitAllowance({ messages: 2, recipients: 6 });

    // Act
    const verdicts = [allowance.take(3), allowance.take(4), allowance.take(2), allowance.take(1)];

    // Assess: 3 fit; 4 do not fit in the 3 left (day); 2 fit; 1 recipient is left but no message (minute).
    expect(verdicts).toEqual(['ok', 'day', 'ok', 'minute']);
  });

  it('has no bound where the tenant has no such limit', () => {
    const allowance = new LimitAllowance({ messages: null, recipients: null });
    expect(Array.from({ length: 100 }, () => allowance.take(50)).every((v) => v === 'ok')).toBe(true);
  });
});
