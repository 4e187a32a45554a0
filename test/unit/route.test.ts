import { describe, expect, it } from 'vitest';
import { decideRoute, fallbackAfterFailure, type RouteInput } from '../../functions/core/route';
import {
  FAILURE_CLASSES,
  type FailureClass,
  type HealthState,
  initialHealth,
  type SenderConfig,
} from '../../functions/core/types';

const NOW = Date.parse('2025-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();

const smtp = (over: Partial<SenderConfig> = {}): SenderConfig => ({
  tenantId: 'acme',
  mode: 'smtp',
  fallback: 'platform',
  version: 2,
  updatedAt: at(NOW),
  smtp: {
    host: 'smtp.acme.example',
    port: 587,
    security: 'starttls',
    username: 'u',
    passwordCiphertext: 'Y2lwaGVy',
    fromAddress: 'notifications@acme.example',
    fromName: 'Acme',
  },
  ...over,
});
const hold = (over: Partial<SenderConfig> = {}) => smtp({ fallback: 'hold', ...over });
const domain = (over: Partial<SenderConfig> = {}): SenderConfig => ({
  tenantId: 'acme',
  mode: 'domain',
  fallback: 'platform',
  version: 2,
  updatedAt: at(NOW),
  domain: { name: 'acme.example', fromAddress: 'hello@acme.example', fromName: 'Acme' },
  ...over,
});
const platformMode = (): SenderConfig => ({
  tenantId: 'acme',
  mode: 'platform',
  fallback: 'platform',
  version: 2,
  updatedAt: at(NOW),
});

const healthy = initialHealth(2);
const openNotDue: HealthState = { ...healthy, state: 'unhealthy', retryAt: at(NOW + 60_000) };
const openDue: HealthState = { ...healthy, state: 'unhealthy', retryAt: at(NOW - 1) };
const openDueLeased: HealthState = { ...openDue, probeLeaseUntil: at(NOW + 10_000) };
const openOldVersion: HealthState = { ...openNotDue, configVersion: 1 };

const send = (route: string, fallbackReason: string | null, probe = false) => ({
  action: 'send',
  route,
  fallbackReason,
  probe,
});

describe('decideRoute', () => {
  it.each([
    // [case, input (without now), expected]
    ['no config', { config: null, health: healthy }, send('platform', 'no-config')],
    [
      'no config, even with a batch failure',
      { config: null, health: healthy, batchFailure: 'auth' },
      send('platform', 'no-config'),
    ],
    ['platform mode', { config: platformMode(), health: healthy }, send('platform', null)],
    ['domain mode', { config: domain(), health: healthy }, send('domain', null)],
    ['domain mode, breaker state ignored', { config: domain(), health: openNotDue }, send('domain', null)],
    [
      'domain mode, unverified',
      { config: domain(), health: healthy, domainUnverified: true },
      send('platform', 'domain-unverified'),
    ],
    [
      'domain mode, hold policy does not apply',
      { config: domain({ fallback: 'hold' }), health: healthy, domainUnverified: true },
      send('platform', 'domain-unverified'),
    ],
    [
      'domain mode without settings',
      { config: domain({ domain: undefined }), health: healthy },
      send('platform', 'config-invalid'),
    ],
    ['smtp, healthy', { config: smtp(), health: healthy }, send('smtp', null)],
    [
      'smtp, batch failure',
      { config: smtp(), health: healthy, batchFailure: 'connection' },
      send('platform', 'connection'),
    ],
    [
      'smtp, batch recipient-rejected ignored',
      { config: smtp(), health: healthy, batchFailure: 'recipient-rejected' },
      send('smtp', null),
    ],
    ['smtp, open, not due', { config: smtp(), health: openNotDue }, send('platform', 'unhealthy')],
    ['smtp, open, due', { config: smtp(), health: openDue }, { action: 'claim-probe' }],
    [
      'smtp, open, due, claim won',
      { config: smtp(), health: openDue, probeClaimed: true },
      send('smtp', null, true),
    ],
    [
      'smtp, open, due, claim lost',
      { config: smtp(), health: openDue, probeClaimed: false },
      send('platform', 'unhealthy'),
    ],
    [
      'smtp, open, someone else probing',
      { config: smtp(), health: openDueLeased },
      send('platform', 'unhealthy'),
    ],
    [
      'smtp, batch failure beats a due probe',
      { config: smtp(), health: openDue, batchFailure: 'tls' },
      send('platform', 'tls'),
    ],
    [
      'smtp, health of an older config is ignored',
      { config: smtp(), health: openOldVersion },
      send('smtp', null),
    ],
    [
      'smtp without settings',
      { config: smtp({ smtp: undefined }), health: healthy },
      send('platform', 'config-invalid'),
    ],
    ['hold, healthy', { config: hold(), health: healthy }, send('smtp', null)],
    [
      'smtp, KMS unavailable earlier in the batch',
      { config: smtp(), health: healthy, batchFailure: 'kms-unavailable' },
      send('platform', 'kms-unavailable'),
    ],
    [
      'hold, KMS unavailable earlier in the batch',
      { config: hold(), health: healthy, batchFailure: 'kms-unavailable' },
      { action: 'hold', reason: 'kms-unavailable' },
    ],
    [
      'hold, batch failure',
      { config: hold(), health: healthy, batchFailure: 'server-throttled' },
      { action: 'hold', reason: 'server-throttled' },
    ],
    ['hold, open, not due', { config: hold(), health: openNotDue }, { action: 'hold', reason: 'unhealthy' }],
    ['hold, open, due', { config: hold(), health: openDue }, { action: 'claim-probe' }],
    ['hold, claim won', { config: hold(), health: openDue, probeClaimed: true }, send('smtp', null, true)],
    [
      'hold, claim lost',
      { config: hold(), health: openDue, probeClaimed: false },
      { action: 'hold', reason: 'unhealthy' },
    ],
    [
      'hold without settings',
      { config: hold({ smtp: undefined }), health: healthy },
      { action: 'hold', reason: 'config-invalid' },
    ],
  ] as [string, Omit<RouteInput, 'now'>, unknown][])('%s', (_name, input, expected) => {
    // Act
    const decision = decideRoute({ ...input, now: NOW });

    // Assess
    expect(decision).toEqual(expected);
  });
});

describe('fallbackAfterFailure', () => {
  const record = (cls: FailureClass) => ({ class: cls, code: 'X', phase: 'RCPT' as const, message: 'm' });
  const tenantSide = FAILURE_CLASSES.filter((c) => c !== 'recipient-rejected');

  it.each(tenantSide)('%s → platform (fallback policy platform)', (cls) => {
    expect(fallbackAfterFailure(smtp(), record(cls))).toEqual({
      action: 'platform',
      reason: cls,
      possibleDuplicate: cls === 'uncertain',
    });
  });

  it.each(tenantSide)('%s → hold (fallback policy hold)', (cls) => {
    expect(fallbackAfterFailure(hold(), record(cls))).toEqual({ action: 'hold', reason: cls });
  });

  it.each([smtp(), hold(), null])('recipient-rejected is final (%#)', (config) => {
    expect(fallbackAfterFailure(config, record('recipient-rejected'))).toEqual({ action: 'final' });
  });

  it('hold applies to smtp mode only', () => {
    expect(fallbackAfterFailure(domain({ fallback: 'hold' }), record('connection'))).toMatchObject({
      action: 'platform',
    });
  });
});
