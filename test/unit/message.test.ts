import { describe, expect, it } from 'vitest';
import {
  MAX_BODY_BYTES,
  MAX_CUSTOM_HEADERS,
  MAX_HEADER_VALUE_CHARS,
  MAX_IDEMPOTENCY_KEY_CHARS,
  MAX_RECIPIENTS,
  MAX_REFERENCES,
  MAX_SUBJECT_CHARS,
  normalizeAddress,
  parseQueueMessage,
} from '../../functions/core/message';

const base = {
  v: 1,
  tenantId: 'acme',
  kind: 'notification',
  to: 'a@acme.example',
  subject: 'Hi',
  text: 'Hello',
};

function parse(overrides: Record<string, unknown>) {
  return parseQueueMessage(JSON.stringify({ ...base, ...overrides }));
}

const addresses = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@acme.example`);

describe('parseQueueMessage: valid messages', () => {
  it('accepts the minimal message and normalizes to a list', () => {
    // Act
    const result = parse({});

    // Assess
    expect(result).toEqual({ ok: true, message: { ...base, to: ['a@acme.example'] } });
  });

  it('defaults kind to notification', () => {
    const result = parse({ kind: undefined });
    expect(result.ok && result.message.kind).toBe('notification');
  });

  it('accepts every optional field at its bound', () => {
    // Prepare
    const full = {
      kind: 'autoresponder',
      to: addresses(MAX_RECIPIENTS - 2),
      cc: ['c@acme.example'],
      bcc: ['b@acme.example'],
      replyTo: 'r@acme.example',
      subject: 's'.repeat(MAX_SUBJECT_CHARS),
      text: 'a'.repeat(MAX_BODY_BYTES),
      html: 'é'.repeat(MAX_BODY_BYTES / 2),
      headers: { 'X-Campaign': 'v'.repeat(MAX_HEADER_VALUE_CHARS) },
      unsubscribeUrl: 'https://acme.example/u?t=1',
      inReplyTo: '<a@b.example>',
      references: ['<a@b.example>', '<c@d.example>'],
      idempotencyKey: 'k'.repeat(MAX_IDEMPOTENCY_KEY_CHARS),
    };

    // Act
    const result = parse(full);

    // Assess
    expect(result.ok).toBe(true);
  });

  it('accepts X-* header names in any case (header names are case-insensitive)', () => {
    // Prepare
    const lower = { headers: { 'x-request-id': 'r-1', 'X-CAMPAIGN': 'spring' } };

    // Act
    const result = parse(lower);

    // Assess
    expect(result.ok && result.message.headers).toEqual({ 'x-request-id': 'r-1', 'X-CAMPAIGN': 'spring' });
  });

  it.each([
    ['IDN domain to punycode', 'user@bücher.example', 'user@xn--bcher-kva.example'],
    ['upper-case domain lowered', 'User@ACME.Example', 'User@acme.example'],
    ['plus and dots in local part', 'a.b+tag@acme.example', 'a.b+tag@acme.example'],
  ])('normalizes an address: %s', (_name, input, expected) => {
    expect(normalizeAddress(input)).toEqual({ ok: true, address: expected });
    const result = parse({ to: [input], replyTo: input });
    expect(result.ok && [result.message.to[0], result.message.replyTo]).toEqual([expected, expected]);
  });

  it.each([
    ['a space-separated string', '<a@b.example> <c@d.example>', ['<a@b.example>', '<c@d.example>']],
    ['a single id', '<a@b.example>', ['<a@b.example>']],
    ['a list', ['<a@b.example>'], ['<a@b.example>']],
  ])('normalizes references given as %s', (_name, references, expected) => {
    const result = parse({ references });
    expect(result.ok && result.message.references).toEqual(expected);
  });

  it('normalizes the unsubscribe URL', () => {
    const result = parse({ unsubscribeUrl: 'https://acme.example/ü' });
    expect(result.ok && result.message.unsubscribeUrl).toBe('https://acme.example/%C3%BC');
  });

  it.each([
    ['html only', { text: undefined, html: '<p>x</p>' }],
    ['text only', {}],
  ])('accepts %s', (_n, o) => {
    expect(parse(o).ok).toBe(true);
  });
});

describe('parseQueueMessage: refusals', () => {
  it.each([
    ['malformed JSON', '{', '(body)', 'json'],
    ['a JSON array', '[]', '(body)', 'type'],
    ['a JSON string', '"x"', '(body)', 'type'],
    ['JSON null', 'null', '(body)', 'type'],
  ])('refuses %s', (_name, body, field, rule) => {
    // Act
    const result = parseQueueMessage(body);

    // Assess
    expect(result).toMatchObject({ ok: false, field, rule });
    expect(result).not.toHaveProperty('tenantId');
  });

  const long = (n: number) => 'x'.repeat(n);
  it.each([
    // [case, overrides, field, rule, detail fragment]
    ['missing v', { v: undefined }, 'v', 'value', 'v: must be one of 1'],
    ['v 2', { v: 2 }, 'v', 'value', 'v: must be one of 1'],
    ['missing tenantId', { tenantId: undefined }, 'tenantId', 'required', 'tenantId: is required'],
    ['upper-case tenantId', { tenantId: 'Acme' }, 'tenantId', 'pattern', 'tenantId: must match'],
    ['65-char tenantId', { tenantId: `a${long(64)}` }, 'tenantId', 'pattern', 'must match'],
    ['tenantId starting with -', { tenantId: '-acme' }, 'tenantId', 'pattern', 'must match'],
    ['unknown kind', { kind: 'blast' }, 'kind', 'value', 'kind: must be one of'],
    ['missing to', { to: undefined }, 'to', 'required', 'to: is required'],
    ['empty to', { to: [] }, 'to', 'min', 'to: must have at least 1 entry'],
    ['to a number', { to: 42 }, 'to', 'type', 'to: must be an address or a list of addresses'],
    ['to an object', { to: { a: 1 } }, 'to', 'type', 'to: must be an address or a list of addresses'],
    ['NUL in to', { to: 'a\u0000b@acme.example' }, 'to[0]', 'address', 'control characters'],
    ['tab in to', { to: ['ok@acme.example', 'a@acme.example\t'] }, 'to[1]', 'address', 'control characters'],
    ['U+2028 in cc', { cc: ['a@acme\u2028.example'] }, 'cc[0]', 'address', 'control characters'],
    ['DEL in replyTo', { replyTo: 'a\u007f@acme.example' }, 'replyTo', 'address', 'control characters'],
    ['references a number', { references: 3 }, 'references', 'type', 'a list of message ids or one'],
    [
      'display name in to',
      { to: ['a@acme.example', 'Bob <b@acme.example>'] },
      'to[1]',
      'address',
      'to[1]: must be a bare address',
    ],
    ['CR/LF in to', { to: 'a@acme.example\r\nBcc: x@y.example' }, 'to[0]', 'address', 'CR or LF'],
    ['space in to', { to: 'a b@acme.example' }, 'to[0]', 'address', 'bare address'],
    ['two @', { to: 'a@b@acme.example' }, 'to[0]', 'address', 'bare address'],
    ['no @', { to: 'acme.example' }, 'to[0]', 'address', 'bare address'],
    ['empty local part', { to: '@acme.example' }, 'to[0]', 'address', 'bare address'],
    ['quoted local part', { to: '"a"@acme.example' }, 'to[0]', 'address', 'bare address'],
    ['65-char local part', { to: `${long(65)}@acme.example` }, 'to[0]', 'address', 'bare address'],
    ['single-label domain', { to: 'a@localhost' }, 'to[0]', 'address', 'valid domain'],
    ['IP literal', { to: 'a@[127.0.0.1]' }, 'to[0]', 'address', 'valid domain'],
    ['dotted IP', { to: 'a@127.0.0.1' }, 'to[0]', 'address', 'valid domain'],
    ['label with _', { to: 'a@ac_me.example' }, 'to[0]', 'address', 'valid domain'],
    ['over 254 chars', { to: `a@${Array(5).fill(long(60)).join('.')}.ex` }, 'to[0]', 'address', '254'],
    ['51 in to', { to: addresses(MAX_RECIPIENTS + 1) }, 'to', 'max', 'at most 50 entries'],
    [
      '51 in to+cc+bcc',
      { to: addresses(30), cc: addresses(20), bcc: ['x@acme.example'] },
      'to',
      'max-recipients',
      '50 recipients',
    ],
    ['cc as a string', { cc: 'c@acme.example' }, 'cc', 'type', 'cc: must be a list'],
    ['bad bcc', { bcc: ['nope'] }, 'bcc[0]', 'address', 'bare address'],
    ['bad replyTo', { replyTo: 'R <r@acme.example>' }, 'replyTo', 'address', 'bare address'],
    ['missing subject', { subject: undefined }, 'subject', 'required', 'subject: is required'],
    [
      'subject too long',
      { subject: long(MAX_SUBJECT_CHARS + 1) },
      'subject',
      'max',
      'at most 998 characters',
    ],
    ['LF in subject', { subject: 'a\nb' }, 'subject', 'crlf', 'CR or LF'],
    ['CR in subject', { subject: 'a\rb' }, 'subject', 'crlf', 'CR or LF'],
    ['NUL in subject', { subject: 'a\u0000b' }, 'subject', 'control', 'control characters'],
    ['U+2029 in subject', { subject: 'a\u2029b' }, 'subject', 'control', 'U+2029'],
    ['no body', { text: undefined }, 'text', 'required', 'text or html is required'],
    ['empty bodies', { text: '', html: '' }, 'text', 'required', 'text or html'],
    ['text over 256 KiB', { text: long(MAX_BODY_BYTES + 1) }, 'text', 'max-bytes', 'bytes in UTF-8'],
    [
      'html over 256 KiB in UTF-8',
      { html: 'é'.repeat(MAX_BODY_BYTES / 2 + 1) },
      'html',
      'max-bytes',
      'bytes',
    ],
    ['text not a string', { text: 1 }, 'text', 'type', 'text: must be a string'],
    ['non-X header', { headers: { Subject: 'x' } }, 'headers.Subject', 'header-name', 'X-* header'],
    ['header name with space', { headers: { 'X-A B': 'x' } }, 'headers.X-A B', 'header-name', 'X-*'],
    ['header name with colon', { headers: { 'X-A:': 'x' } }, 'headers.X-A:', 'header-name', 'X-*'],
    ['bare X- header', { headers: { 'X-': 'x' } }, 'headers.X-', 'header-name', 'X-*'],
    [
      'X-SES header',
      { headers: { 'X-SES-SOURCE-ARN': 'arn' } },
      'headers.X-SES-SOURCE-ARN',
      'header-reserved',
      'reserved',
    ],
    [
      'duplicate header',
      { headers: { 'X-A': '1', 'X-a': '2' } },
      'headers.X-a',
      'header-duplicate',
      'repeat',
    ],
    [
      'CRLF in header value',
      { headers: { 'X-A': 'a\r\nBcc: x@y.example' } },
      'headers.X-A',
      'crlf',
      'CR or LF',
    ],
    ['DEL in header value', { headers: { 'X-A': 'a\u007fb' } }, 'headers.X-A', 'control', 'DEL'],
    ['U+2028 in header value', { headers: { 'X-A': 'a\u2028b' } }, 'headers.X-A', 'control', 'U+2028'],
    ['ESC in header value', { headers: { 'X-A': 'a\u001b[31m' } }, 'headers.X-A', 'control', 'C0'],
    [
      'header value too long',
      { headers: { 'X-A': long(MAX_HEADER_VALUE_CHARS + 1) } },
      'headers.X-A',
      'max',
      '998',
    ],
    ['header value a number', { headers: { 'X-A': 1 } }, 'headers.X-A', 'type', 'must be a string'],
    [
      'too many headers',
      { headers: Object.fromEntries(addresses(MAX_CUSTOM_HEADERS + 1).map((_, i) => [`X-H${i}`, 'v'])) },
      'headers',
      'max',
      '50 entries',
    ],
    ['headers a list', { headers: ['X-A'] }, 'headers', 'type', 'must be a record'],
    [
      'http unsubscribe',
      { unsubscribeUrl: 'http://acme.example/u' },
      'unsubscribeUrl',
      'url',
      'https: or mailto:',
    ],
    ['javascript unsubscribe', { unsubscribeUrl: 'javascript:alert(1)' }, 'unsubscribeUrl', 'url', 'https:'],
    ['unsubscribe with >', { unsubscribeUrl: 'https://a.example/>x' }, 'unsubscribeUrl', 'url', 'https:'],
    [
      'unsubscribe with CRLF',
      { unsubscribeUrl: 'https://a.example/\r\nX-A: b' },
      'unsubscribeUrl',
      'url',
      'https:',
    ],
    ['unsubscribe not a URL', { unsubscribeUrl: 'acme' }, 'unsubscribeUrl', 'url', 'https:'],
    [
      'unsubscribe too long',
      { unsubscribeUrl: `https://a.example/${long(2048)}` },
      'unsubscribeUrl',
      'max',
      '2048',
    ],
    ['inReplyTo without <>', { inReplyTo: 'a@b.example' }, 'inReplyTo', 'message-id', '<...@...>'],
    ['inReplyTo without @', { inReplyTo: '<ab.example>' }, 'inReplyTo', 'message-id', '<...@...>'],
    ['inReplyTo with space', { inReplyTo: '<a b@c.example>' }, 'inReplyTo', 'message-id', '<...@...>'],
    ['bad reference', { references: ['<a@b.example>', 'x'] }, 'references[1]', 'message-id', '<...@...>'],
    ['empty references', { references: [] }, 'references', 'min', 'at least 1'],
    [
      'too many references',
      { references: Array(MAX_REFERENCES + 1).fill('<a@b.example>') },
      'references',
      'max',
      '100',
    ],
    ['empty idempotencyKey', { idempotencyKey: '' }, 'idempotencyKey', 'min', 'at least 1 character'],
    [
      'idempotencyKey too long',
      { idempotencyKey: long(MAX_IDEMPOTENCY_KEY_CHARS + 1) },
      'idempotencyKey',
      'max',
      '128',
    ],
    ['idempotencyKey with control', { idempotencyKey: 'a\u0000b' }, 'idempotencyKey', 'control', 'control'],
    ['from present', { from: 'ceo@other.example' }, 'from', 'not-allowed', 'from: not allowed'],
    ['unknown key', { priority: 'high' }, 'priority', 'unknown-key', 'priority: unknown key'],
  ])('refuses %s', (_name, overrides, field, rule, detail) => {
    // Act
    const result = parse(overrides);

    // Assess
    expect(result).toMatchObject({ ok: false, field, rule });
    expect(result.ok === false && result.tenantId).toBe(field === 'tenantId' ? undefined : 'acme');
    expect(result.ok === false && result.detail).toContain(detail);
    expect(result.ok === false && result.detail.startsWith(`${field}: `)).toBe(true);
  });

  it.each([
    ['a readable tenantId', { to: 'bad' }, 'acme'],
    ['an unreadable tenantId', { tenantId: 'NOT OK', to: 'bad' }, undefined],
    ['a non-string tenantId', { tenantId: 7 }, undefined],
  ])('returns %s with the refusal', (_name, overrides, tenantId) => {
    const result = parse(overrides);
    expect(result.ok).toBe(false);
    expect(result.ok === false ? result.tenantId : 'unexpected').toBe(tenantId);
  });

  it('refuses from even when other fields are also wrong', () => {
    expect(parse({ from: 'x@y.example', to: 'nope' })).toMatchObject({ field: 'from', rule: 'not-allowed' });
  });
});
