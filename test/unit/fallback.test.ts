import { describe, expect, it } from 'vitest';
import {
  cleanDisplayName,
  composeFallback,
  composeTenantSender,
  formatAddress,
  MAX_DISPLAY_NAME_CHARS,
  sesTags,
  sesTagValue,
  tenantFrom,
} from '../../functions/core/fallback';
import type { SenderConfig } from '../../functions/core/types';

const platform = { address: 'mail@platform.example', name: 'Platform' };
const base = {
  tenantId: 'acme',
  fallback: 'platform' as const,
  version: 1,
  updatedAt: '2025-01-01T00:00:00.000Z',
};
const smtp = (fromName?: string): SenderConfig => ({
  ...base,
  mode: 'smtp',
  smtp: {
    host: 'smtp.acme.example',
    port: 587,
    security: 'starttls',
    username: 'u',
    passwordCiphertext: 'c',
    fromAddress: 'notifications@acme.example',
    ...(fromName === undefined ? {} : { fromName }),
  },
});
const domain: SenderConfig = {
  ...base,
  mode: 'domain',
  domain: { name: 'acme.example', fromAddress: 'hello@acme.example', fromName: 'Acme Mail' },
};
const platformMode: SenderConfig = { ...base, mode: 'platform' };

describe('composeFallback', () => {
  it.each([
    // [case, config, message replyTo, From header, Reply-To]
    [
      'smtp tenant',
      smtp('Acme'),
      undefined,
      '"Acme via Platform" <mail@platform.example>',
      'notifications@acme.example',
    ],
    [
      'smtp tenant, message replyTo wins',
      smtp('Acme'),
      'lead@x.example',
      '"Acme via Platform" <mail@platform.example>',
      'lead@x.example',
    ],
    [
      'smtp tenant without fromName',
      smtp(),
      undefined,
      '"acme.example via Platform" <mail@platform.example>',
      'notifications@acme.example',
    ],
    [
      'domain tenant',
      domain,
      undefined,
      '"Acme Mail via Platform" <mail@platform.example>',
      'hello@acme.example',
    ],
    ['platform mode', platformMode, undefined, '"Platform" <mail@platform.example>', null],
    [
      'platform mode with replyTo',
      platformMode,
      'lead@x.example',
      '"Platform" <mail@platform.example>',
      'lead@x.example',
    ],
    ['no config', null, undefined, '"Platform" <mail@platform.example>', null],
    [
      'no config with replyTo',
      null,
      'lead@x.example',
      '"Platform" <mail@platform.example>',
      'lead@x.example',
    ],
  ] as [string, SenderConfig | null, string | undefined, string, string | null][])(
    '%s',
    (_name, config, replyTo, fromHeader, expectedReplyTo) => {
      // Act
      const sender = composeFallback({ config, platform, message: replyTo === undefined ? {} : { replyTo } });

      // Assess
      expect(sender.fromHeader).toBe(fromHeader);
      expect(sender.from.address).toBe('mail@platform.example');
      expect(sender.replyTo).toBe(expectedReplyTo);
    },
  );

  it.each([
    ['quotes', 'Acme "Best" Co', '"Acme \\"Best\\" Co via Platform" <mail@platform.example>'],
    ['backslash', 'A\\B', '"A\\\\B via Platform" <mail@platform.example>'],
    [
      'CR/LF injection',
      'Acme\r\nBcc: x@evil.example',
      '"Acme Bcc: x@evil.example via Platform" <mail@platform.example>',
    ],
    [
      'angle brackets stay inside the quotes',
      'Acme <ceo@acme.example>',
      '"Acme <ceo@acme.example> via Platform" <mail@platform.example>',
    ],
    ['non-ASCII kept for encoding', 'Café Ünïcode', '"Café Ünïcode via Platform" <mail@platform.example>'],
  ])('makes the tenant name safe: %s', (_name, fromName, fromHeader) => {
    const sender = composeFallback({ config: smtp(fromName), platform, message: {} });
    expect(sender.fromHeader).toBe(fromHeader);
    expect(sender.fromHeader).not.toMatch(/[\r\n]/);
  });

  it('passes a structured from for nodemailer', () => {
    const sender = composeFallback({ config: smtp('Acme'), platform, message: {} });
    expect(sender.from).toEqual({ address: 'mail@platform.example', name: 'Acme via Platform' });
  });
});

describe('tenantFrom / composeTenantSender', () => {
  it.each([
    ['smtp', smtp('Acme'), { address: 'notifications@acme.example', name: 'Acme' }],
    ['smtp without name', smtp(), { address: 'notifications@acme.example' }],
    ['smtp with a blank name', smtp(' \r\n '), { address: 'notifications@acme.example' }],
    ['domain', domain, { address: 'hello@acme.example', name: 'Acme Mail' }],
    ['platform', platformMode, null],
    ['no config', null, null],
    ['smtp mode without settings', { ...base, mode: 'smtp' }, null],
  ] as [string, SenderConfig | null, unknown][])('%s', (_name, config, expected) => {
    expect(tenantFrom(config)).toEqual(expected);
  });

  it('uses the tenant From and only the message replyTo on its own route', () => {
    expect(composeTenantSender(smtp('Acme'), {})).toEqual({
      from: { address: 'notifications@acme.example', name: 'Acme' },
      fromHeader: '"Acme" <notifications@acme.example>',
      replyTo: null,
    });
    expect(composeTenantSender(domain, { replyTo: 'r@x.example' })?.replyTo).toBe('r@x.example');
    expect(composeTenantSender(platformMode, {})).toBeNull();
  });
});

describe('display names', () => {
  it.each([
    ['  a \t b  ', 'a b'],
    ['a\u0000b', 'a b'],
    ['a\u0085b', 'a b'],
    ['', ''],
    [undefined, ''],
    ['x'.repeat(300), 'x'.repeat(MAX_DISPLAY_NAME_CHARS)],
  ])('cleanDisplayName(%j) = %j', (input, expected) => {
    expect(cleanDisplayName(input)).toBe(expected);
  });

  it.each([
    [{ address: 'a@b.example' }, 'a@b.example'],
    [{ address: 'a@b.example', name: '' }, 'a@b.example'],
    [{ address: 'a@b.example', name: 'A' }, '"A" <a@b.example>'],
  ])('formatAddress(%j) = %s', (a, expected) => {
    expect(formatAddress(a)).toBe(expected);
  });
});

describe('sesTags', () => {
  it.each([
    [
      { tenantId: 'acme', route: 'platform', fallbackReason: 'server-throttled' },
      ['acme', 'platform', 'server-throttled'],
    ],
    [{ tenantId: 'acme_1', route: 'smtp', fallbackReason: null }, ['acme_1', 'smtp', 'none']],
    [{ tenantId: 'acme', route: 'split', fallbackReason: 'no-config' }, ['acme', 'split', 'no-config']],
  ] as const)('%j', (input, values) => {
    expect(sesTags(input)).toEqual([
      { Name: 'tenantId', Value: values[0] },
      { Name: 'route', Value: values[1] },
      { Name: 'fallbackReason', Value: values[2] },
    ]);
  });

  it.each([
    ['a.b@c', 'a_b_c'],
    ['ü', '_'],
    ['', 'none'],
    [null, 'none'],
    ['x'.repeat(300), 'x'.repeat(256)],
  ])('sesTagValue(%j) = %j', (input, expected) => {
    expect(sesTagValue(input)).toBe(expected);
    expect(sesTagValue(input)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
