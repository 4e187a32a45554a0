import { describe, expect, it } from 'vitest';
import { BadRequestError, type HttpError, UnprocessableError } from '../../functions/config-api/errors';
import { parseJsonBody, parseWith } from '../../functions/config-api/http';
import {
  putSenderBodySchema,
  smtpTestBodySchema,
  storedTestBodySchema,
} from '../../functions/config-api/schemas';

const smtp = {
  host: 'smtp.acme.example',
  port: 587,
  security: 'starttls',
  username: 'notifications@acme.example',
  password: 'pw-schema-unit',
  fromAddress: 'notifications@acme.example',
  fromName: 'Acme',
};

function fieldOfFailure(value: unknown): string | undefined {
  try {
    parseWith(putSenderBodySchema, value);
  } catch (err) {
    expect(err).toBeInstanceOf(UnprocessableError);
    return (err as HttpError).field;
  }
  throw new Error('expected a validation failure');
}

describe('config API request schemas', () => {
  it.each([
    ['smtp', { mode: 'smtp', fallback: 'hold', smtp }],
    [
      'smtp without fallback, name or password',
      { mode: 'smtp', smtp: { ...smtp, fromName: undefined, password: undefined } },
    ],
    ['smtp on an IPv6 literal', { mode: 'smtp', smtp: { ...smtp, host: '[2001:db8::1]' } }],
    ['domain', { mode: 'domain', domain: { name: 'acme.example', fromAddress: 'hi@acme.example' } }],
    ['platform', { mode: 'platform' }],
  ])('accepts a %s body', (_name, body) => {
    // Act
    const parsed = putSenderBodySchema.safeParse(JSON.parse(JSON.stringify(body)));

    // Assess
    expect(parsed.success).toBe(true);
  });

  it.each([
    ['a missing mode', { smtp }, 'mode'],
    ['an unknown mode', { mode: 'ses' }, 'mode'],
    ['fallback outside smtp mode', { mode: 'platform', fallback: 'hold' }, 'fallback'],
    [
      'fallback in domain mode',
      { mode: 'domain', fallback: 'platform', domain: { name: 'a.example', fromAddress: 'x@a.example' } },
      'fallback',
    ],
    ['an unknown fallback', { mode: 'smtp', fallback: 'drop', smtp }, 'fallback'],
    ['an unknown key', { mode: 'smtp', smtp, extra: 1 }, 'extra'],
    [
      'an unknown smtp key',
      { mode: 'smtp', smtp: { ...smtp, passwordCiphertext: 'x' } },
      'smtp.passwordCiphertext',
    ],
    ['smtp settings in platform mode', { mode: 'platform', smtp }, 'smtp'],
    ['a string port', { mode: 'smtp', smtp: { ...smtp, port: '587' } }, 'smtp.port'],
    ['a fractional port', { mode: 'smtp', smtp: { ...smtp, port: 587.5 } }, 'smtp.port'],
    ['port 0', { mode: 'smtp', smtp: { ...smtp, port: 0 } }, 'smtp.port'],
    ['port 70000', { mode: 'smtp', smtp: { ...smtp, port: 70000 } }, 'smtp.port'],
    ['an unknown security', { mode: 'smtp', smtp: { ...smtp, security: 'ssl' } }, 'smtp.security'],
    ['a host with a space', { mode: 'smtp', smtp: { ...smtp, host: 'smtp acme.example' } }, 'smtp.host'],
    ['a host with a scheme', { mode: 'smtp', smtp: { ...smtp, host: 'smtp://acme.example' } }, 'smtp.host'],
    ['an empty username', { mode: 'smtp', smtp: { ...smtp, username: '' } }, 'smtp.username'],
    ['an empty password', { mode: 'smtp', smtp: { ...smtp, password: '' } }, 'smtp.password'],
    [
      'a display name as fromAddress',
      { mode: 'smtp', smtp: { ...smtp, fromAddress: 'Acme <a@acme.example>' } },
      'smtp.fromAddress',
    ],
    [
      'a CR/LF in fromName',
      { mode: 'smtp', smtp: { ...smtp, fromName: 'Acme\r\nBcc: x@evil.example' } },
      'smtp.fromName',
    ],
    ['a missing smtp block', { mode: 'smtp' }, 'smtp'],
    ['a bad domain name', { mode: 'domain', domain: { name: 'acme', fromAddress: 'x@acme' } }, 'domain.name'],
    [
      'a domain with a trailing dot',
      { mode: 'domain', domain: { name: 'acme.example.', fromAddress: 'x@acme.example' } },
      'domain.name',
    ],
  ])('refuses %s with 422 validation on %s', (_name, body, field) => {
    // Act / Assess
    expect(fieldOfFailure(body)).toBe(field);
  });

  it.each([null, [], 'smtp', 42, true])('refuses the non-object body %j with 422 naming the body', (body) => {
    // Act / Assess
    expect(fieldOfFailure(body)).toBe('(body)');
  });

  it('parses test bodies: {} and sendTo alone, or an smtp config with sendTo', () => {
    // Act / Assess
    expect(storedTestBodySchema.safeParse({}).success).toBe(true);
    expect(storedTestBodySchema.safeParse({ sendTo: 'ops@acme.example' }).success).toBe(true);
    expect(storedTestBodySchema.safeParse({ sendTo: 'not an address' }).success).toBe(false);
    expect(smtpTestBodySchema.safeParse({ mode: 'smtp', smtp, sendTo: 'ops@acme.example' }).success).toBe(
      true,
    );
    expect(smtpTestBodySchema.safeParse({ mode: 'domain', domain: {} }).success).toBe(false);
  });
});

describe('config API body parsing', () => {
  it('reads JSON, base64 JSON and nothing', () => {
    // Act / Assess
    expect(parseJsonBody('{"a":1}', false)).toEqual({ a: 1 });
    expect(parseJsonBody(Buffer.from('{"a":2}').toString('base64'), true)).toEqual({ a: 2 });
    expect(parseJsonBody(undefined, false)).toBeUndefined();
    expect(parseJsonBody('  ', false)).toBeUndefined();
  });

  it('answers malformed or oversized JSON with 400 and never echoes it', () => {
    // Prepare
    const body = '{"mode":"smtp","smtp":{"password":"pw-schema-unit"';

    // Act
    let error: unknown;
    try {
      parseJsonBody(body, false);
    } catch (err) {
      error = err;
    }

    // Assess
    expect(error).toBeInstanceOf(BadRequestError);
    expect(String((error as Error).message)).not.toContain('pw-schema-unit');
    expect(() => parseJsonBody(`"${'x'.repeat(70_000)}"`, false)).toThrow(BadRequestError);
  });
});
