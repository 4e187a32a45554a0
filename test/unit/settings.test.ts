import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../../functions/settings';

const base = {
  TABLE_NAME: 't',
  KMS_KEY_ID: 'k',
  QUEUE_URL: 'q',
  DLQ_URL: 'd',
  PLATFORM_FROM_ADDRESS: 'mail@platform.example',
  PLATFORM_NAME: 'Platform',
};

describe('loadSettings', () => {
  it('applies the contract defaults', () => {
    const s = loadSettings(base);
    expect(s).toMatchObject({ maxAttempts: 5, holdMaxAgeSeconds: 86400, allowPrivateSmtp: false });
    expect(s.sesConfigurationSet).toBeUndefined();
  });

  it('reads overrides and the private-SMTP flag', () => {
    const s = loadSettings({
      ...base,
      MAX_ATTEMPTS: '3',
      TENANT_SMTP_ALLOW_PRIVATE: '1',
      SES_CONFIGURATION_SET: 'cs',
    });
    expect(s).toMatchObject({ maxAttempts: 3, allowPrivateSmtp: true, sesConfigurationSet: 'cs' });
  });

  it.each(['TABLE_NAME', 'DLQ_URL', 'PLATFORM_FROM_ADDRESS'])('names a missing %s', (key) => {
    const env: Record<string, string | undefined> = { ...base, [key]: undefined };
    expect(() => loadSettings(env)).toThrow(SettingsError);
    expect(() => loadSettings(env)).toThrow(key);
  });

  it('refuses a non-numeric MAX_ATTEMPTS', () => {
    expect(() => loadSettings({ ...base, MAX_ATTEMPTS: 'many' })).toThrow('MAX_ATTEMPTS');
  });
});
