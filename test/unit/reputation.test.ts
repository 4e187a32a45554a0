import { describe, expect, it } from 'vitest';
import { hourBucket, reputationWarning, windowStartBucket } from '../../functions/core/reputation';

describe('tenant SES reputation', () => {
  it('counts per UTC hour, over the current hour and the 23 before it', () => {
    const now = Date.parse('2026-12-03T10:30:00Z');
    expect(hourBucket(now)).toBe('HOUR#2026-12-03T10');
    expect(windowStartBucket(now)).toBe('HOUR#2026-12-02T11');
  });

  it('warns at SES review rates from 100 recipients, complaints first', () => {
    expect(reputationWarning({ recipients: 99, bounces: 50, complaints: 5 })).toBeNull();
    expect(reputationWarning({ recipients: 100, bounces: 4, complaints: 0 })).toBeNull();
    expect(reputationWarning({ recipients: 100, bounces: 5, complaints: 0 })).toMatchObject({
      kind: 'bounce',
      rate: 0.05,
      threshold: 0.05,
    });
    expect(reputationWarning({ recipients: 1000, bounces: 60, complaints: 1 })).toMatchObject({
      kind: 'complaint',
      rate: 0.001,
    });
  });
});
