import { describe, expect, it } from 'vitest';
import { normalizeDomainName } from '../../functions/core/domain-name';

const PLATFORM = 'platform.example';
const check = (input: string) => normalizeDomainName(input, PLATFORM);

describe('normalizeDomainName', () => {
  it('lower-cases a name and turns an IDN into punycode', () => {
    // Act / Assess
    expect(check('Acme.Example')).toEqual({ ok: true, name: 'acme.example' });
    expect(check('BÜCHER.example')).toEqual({ ok: true, name: 'xn--bcher-kva.example' });
    expect(check('xn--bcher-kva.example')).toEqual({ ok: true, name: 'xn--bcher-kva.example' });
    expect(check('mail.acme.co.uk')).toEqual({ ok: true, name: 'mail.acme.co.uk' });
  });

  it.each([
    ['acme.example.', 'trailing-dot'],
    ['192.0.2.10', 'ip-literal'],
    ['[2001:db8::1]', 'ip-literal'],
    ['2001:db8::1', 'ip-literal'],
    ['10.0.0.300', 'ip-literal'],
    ['localhost', 'not-a-domain'],
    ['-acme.example', 'not-a-domain'],
    ['acme_x.example', 'not-a-domain'],
    [' acme.example', 'not-a-domain'],
    ['a..example', 'not-a-domain'],
    [`${'a'.repeat(64)}.example`, 'not-a-domain'],
    ['co.uk', 'not-registrable'],
    ['github.io', 'not-registrable'],
    ['platform.example', 'platform-domain'],
    ['Mail.Platform.Example', 'platform-domain'],
  ])('refuses %s (%s)', (input, problem) => {
    // Act / Assess
    expect(check(input)).toEqual({ ok: false, problem });
  });
});
