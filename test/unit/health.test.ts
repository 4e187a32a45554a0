import { describe, expect, it } from 'vitest';
import {
  countsTowardUnhealthy,
  type HealthEvent,
  isTenantPathOpen,
  nextHealth,
  opensAtOnce,
  probeDue,
} from '../../functions/core/health';
import {
  FAILURE_CLASSES,
  type FailureClass,
  type HealthState,
  initialHealth,
} from '../../functions/core/types';

const NOW = Date.parse('2025-01-01T12:00:00.000Z');
const MIN = 60_000;
const at = (ms: number) => new Date(ms).toISOString();
const failure = (cls: FailureClass): HealthEvent => ({
  type: 'failure',
  failure: { class: cls, code: 'X', phase: 'CONNECT', message: 'm' },
});
const success: HealthEvent = { type: 'success' };

const healthy = (over: Partial<HealthState> = {}): HealthState => ({ ...initialHealth(3), ...over });
const unhealthy = (over: Partial<HealthState> = {}): HealthState =>
  healthy({ state: 'unhealthy', consecutiveFailures: 3, retryAt: at(NOW - 1), ...over });

describe('failure class policy', () => {
  const table: [FailureClass, boolean, boolean][] = [
    ['connection', true, false],
    ['tls', true, true],
    ['auth', true, true],
    ['credentials', true, true],
    ['config-invalid', true, true],
    ['server-temporary', true, false],
    ['server-throttled', true, true],
    ['server-rejected', true, false],
    ['uncertain', true, false],
    ['recipient-rejected', false, false],
  ];

  it('covers every failure class', () => {
    expect(table.map(([cls]) => cls).sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it.each(table)('%s: counts %s, opens at once %s', (cls, counts, atOnce) => {
    expect(countsTowardUnhealthy(cls)).toBe(counts);
    expect(opensAtOnce(cls)).toBe(atOnce);
  });
});

describe('nextHealth: opening', () => {
  it.each([
    ['connection', 0, 'healthy', null],
    ['connection', 1, 'healthy', null],
    ['connection', 2, 'unhealthy', 'opened'],
    ['server-temporary', 2, 'unhealthy', 'opened'],
    ['server-rejected', 2, 'unhealthy', 'opened'],
    ['uncertain', 2, 'unhealthy', 'opened'],
    ['tls', 0, 'unhealthy', 'opened'],
    ['auth', 0, 'unhealthy', 'opened'],
    ['credentials', 0, 'unhealthy', 'opened'],
    ['config-invalid', 0, 'unhealthy', 'opened'],
    ['server-throttled', 0, 'unhealthy', 'opened'],
  ] as [FailureClass, number, HealthState['state'], string | null][])(
    '%s after %i failures → %s',
    (cls, before, state, transition) => {
      // Prepare
      const current = healthy({ consecutiveFailures: before });

      // Act
      const next = nextHealth(current, failure(cls), NOW);

      // Assess
      expect(next.transition).toBe(transition);
      expect(next.changed).toBe(true);
      expect(next.health.state).toBe(state);
      expect(next.health.consecutiveFailures).toBe(before + 1);
      expect(next.health.lastFailure).toEqual({
        class: cls,
        code: 'X',
        phase: 'CONNECT',
        message: 'm',
        at: at(NOW),
      });
      expect(next.health.retryAt).toBe(state === 'unhealthy' ? at(NOW + MIN) : null);
      expect(next.health.configVersion).toBe(3);
    },
  );

  it('opens with the current backoff level', () => {
    const next = nextHealth(healthy({ backoffLevel: 2, consecutiveFailures: 2 }), failure('connection'), NOW);
    expect(next.health.retryAt).toBe(at(NOW + 4 * MIN));
  });

  it.each([healthy(), unhealthy(), healthy({ consecutiveFailures: 2 })])(
    'recipient-rejected never counts nor writes (%#)',
    (current) => {
      const next = nextHealth(current, failure('recipient-rejected'), NOW);
      expect(next).toEqual({ health: current, changed: false, transition: null });
    },
  );
});

describe('nextHealth: probes while unhealthy', () => {
  it.each([
    [0, 2 * MIN],
    [1, 4 * MIN],
    [4, 32 * MIN],
    [5, 60 * MIN],
    [9, 60 * MIN],
  ])('a failed probe at level %i reopens with the next delay %i ms', (level, delay) => {
    // Prepare
    const current = unhealthy({ backoffLevel: level, probeLeaseUntil: at(NOW + 30_000) });

    // Act
    const next = nextHealth(current, failure('connection'), NOW);

    // Assess
    expect(next).toMatchObject({ changed: true, transition: 'reopened' });
    expect(next.health).toMatchObject({
      state: 'unhealthy',
      backoffLevel: level + 1,
      retryAt: at(NOW + delay),
      probeLeaseUntil: null,
      consecutiveFailures: 4,
    });
  });

  it('a stale failure before retryAt records it without raising the backoff', () => {
    // Prepare
    const current = unhealthy({ backoffLevel: 1, retryAt: at(NOW + 5 * MIN) });

    // Act
    const next = nextHealth(current, failure('connection'), NOW);

    // Assess
    expect(next).toMatchObject({ changed: true, transition: null });
    expect(next.health).toMatchObject({ state: 'unhealthy', backoffLevel: 1, retryAt: at(NOW + 5 * MIN) });
    expect(next.health.lastFailure?.at).toBe(at(NOW));
  });

  it('a successful probe closes the breaker and resets the counters', () => {
    // Prepare
    const current = unhealthy({ backoffLevel: 3, probeLeaseUntil: at(NOW + 1000) });

    // Act
    const next = nextHealth(current, success, NOW);

    // Assess
    expect(next).toMatchObject({ changed: true, transition: 'closed' });
    expect(next.health).toMatchObject({
      state: 'healthy',
      consecutiveFailures: 0,
      backoffLevel: 0,
      retryAt: null,
      probeLeaseUntil: null,
      lastSuccessAt: at(NOW),
    });
  });
});

describe('nextHealth: success while healthy', () => {
  it.each([
    ['never succeeded before', healthy(), true],
    ['last success 5 min ago', healthy({ lastSuccessAt: at(NOW - 5 * MIN) }), true],
    ['last success 4:59 ago', healthy({ lastSuccessAt: at(NOW - 5 * MIN + 1000) }), false],
    ['last success just now', healthy({ lastSuccessAt: at(NOW) }), false],
    ['after a failure (reset the count)', healthy({ consecutiveFailures: 1, lastSuccessAt: at(NOW) }), true],
  ])('%s → changed %s', (_name, current, changed) => {
    // Act
    const next = nextHealth(current, success, NOW);

    // Assess
    expect(next.changed).toBe(changed);
    expect(next.transition).toBeNull();
    expect(next.health.consecutiveFailures).toBe(0);
    expect(next.health.lastSuccessAt).toBe(changed ? at(NOW) : current.lastSuccessAt);
  });
});

describe('probeDue / isTenantPathOpen', () => {
  it.each([
    ['healthy', healthy(), false, true],
    ['unhealthy, before retryAt', unhealthy({ retryAt: at(NOW + 1) }), false, false],
    ['unhealthy, at retryAt', unhealthy({ retryAt: at(NOW) }), true, true],
    ['unhealthy, after retryAt', unhealthy({ retryAt: at(NOW - MIN) }), true, true],
    ['unhealthy, live probe lease', unhealthy({ probeLeaseUntil: at(NOW + 1) }), false, false],
    ['unhealthy, expired probe lease', unhealthy({ probeLeaseUntil: at(NOW - 1) }), true, true],
    ['unhealthy, no retryAt', unhealthy({ retryAt: null }), true, true],
  ])('%s: due %s, open %s', (_name, h, due, open) => {
    expect(probeDue(h, NOW)).toBe(due);
    expect(isTenantPathOpen(h, NOW)).toBe(open);
  });
});

describe('nextHealth: a full cycle', () => {
  it('opens, backs off on a failed probe, closes on success', () => {
    // Prepare
    let h = healthy();
    const steps: [HealthEvent, number, string | null][] = [
      [failure('connection'), NOW, null],
      [failure('connection'), NOW + 1, null],
      [failure('connection'), NOW + 2, 'opened'],
      [failure('connection'), NOW + 2 + MIN, 'reopened'],
      [success, NOW + 2 + 3 * MIN, 'closed'],
    ];

    // Act
    const transitions = steps.map(([event, now]) => {
      const next = nextHealth(h, event, now);
      h = next.health;
      return next.transition;
    });

    // Assess
    expect(transitions).toEqual(steps.map(([, , t]) => t));
    expect(h).toMatchObject({ state: 'healthy', backoffLevel: 0, consecutiveFailures: 0 });
  });
});
