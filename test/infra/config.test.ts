import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../infra/config';
import { cdkJsonContext } from './synth';

const base = {
  platformFromAddress: 'notifications@platform.example',
  platformName: 'Platform',
  jwtIssuer: 'https://auth.platform.example/',
  jwtAudience: 'tenant-mailer',
};
const from = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readConfig', () => {
  it('reads cdk.json as shipped', () => {
    const context = cdkJsonContext();

    const config = readConfig(from(context));

    expect(config).toMatchObject({
      stackName: 'TenantMailer',
      platformIdentity: 'platform.example',
      egress: 'none',
      alarmEmail: 'ops@platform.example',
      jwtAudience: ['tenant-mailer'],
    });
    expect(context['cli-telemetry']).toBe(false);
  });

  it('applies the defaults', () => {
    const config = readConfig(from(base));

    expect(config).toMatchObject({
      createPlatformIdentity: true,
      egress: 'none',
      egressAllocationId: undefined,
      maxConcurrency: 5,
      deletionProtection: true,
      maxAttempts: 5,
      holdMaxAgeSeconds: 86400,
      logLevel: 'INFO',
      alarmEmail: undefined,
      sesReputationPolicy: 'standard',
    });
  });

  it('accepts command-line strings for numbers, booleans and lists', () => {
    const config = readConfig(
      from({
        ...base,
        maxConcurrency: '50',
        deletionProtection: 'false',
        jwtAudience: 'a, b',
        egress: 'nat',
        sesReputationPolicy: 'strict',
      }),
    );

    expect(config).toMatchObject({
      sesReputationPolicy: 'strict',
      maxConcurrency: 50,
      deletionProtection: false,
      jwtAudience: ['a', 'b'],
      egress: 'nat',
    });
  });

  it.each([
    [{ platformFromAddress: undefined }, 'platformFromAddress'],
    [{ platformFromAddress: 'Platform <n@p.example>' }, 'platformFromAddress'],
    [{ jwtIssuer: 'http://auth.platform.example/' }, 'jwtIssuer'],
    [{ jwtAudience: '' }, 'jwtAudience'],
    [{ egress: 'vpc' }, 'egress'],
    [{ egressAllocationId: 'eip-123' }, 'egressAllocationId'],
    [{ maxConcurrency: 1 }, 'maxConcurrency'],
    [{ maxConcurrency: 'many' }, 'maxConcurrency'],
    [{ holdMaxAgeSeconds: 4 * 86400 }, 'holdMaxAgeSeconds'],
    [{ deletionProtection: 'yes' }, 'deletionProtection'],
    [{ fallbackRatioThreshold: 1.5 }, 'fallbackRatioThreshold'],
    [{ sesReputationPolicy: 'lenient' }, 'sesReputationPolicy'],
  ])('refuses %o naming %s', (override, key) => {
    expect(() => readConfig(from({ ...base, ...override }))).toThrow(ConfigError);
    expect(() => readConfig(from({ ...base, ...override }))).toThrow(new RegExp(`\\b${key}\\b`));
  });
});
