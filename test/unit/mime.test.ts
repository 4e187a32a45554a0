import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildMime, type MimeInput } from '../../functions/adapters/mime';

const base: MimeInput = {
  from: '"Acme via Platform" <mail@platform.example>',
  replyTo: 'notifications@acme.example',
  to: ['lead@customer.example'],
  cc: ['boss@customer.example'],
  subject: 'New form submission',
  text: 'Hello',
};

function headerBlock(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

describe('buildMime', () => {
  it('writes From, Reply-To, To, Cc and the given headers as set', async () => {
    // Prepare
    const input: MimeInput = {
      ...base,
      headers: {
        'Auto-Submitted': 'auto-generated',
        'List-Unsubscribe': '<https://acme.example/unsub?u=1>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'X-Tenant-Ref': 'form-42',
      },
    };

    // Act
    const { raw } = await buildMime(input);
    const parsed = await simpleParser(raw);

    // Assess
    expect(parsed.from?.value).toEqual([{ name: 'Acme via Platform', address: 'mail@platform.example' }]);
    expect(parsed.replyTo?.value).toEqual([{ name: '', address: 'notifications@acme.example' }]);
    expect(parsed.headers.get('to')).toMatchObject({ value: [{ address: 'lead@customer.example' }] });
    expect(parsed.headers.get('cc')).toMatchObject({ value: [{ address: 'boss@customer.example' }] });
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(headerBlock(raw)).toContain('List-Unsubscribe: <https://acme.example/unsub?u=1>\r\n');
    // mailparser folds List-* headers into one `list` object; the wire form is what receivers read.
    expect(headerBlock(raw)).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
    expect(parsed.headers.get('x-tenant-ref')).toBe('form-42');
  });

  it('never puts a Bcc header in the message', async () => {
    // Prepare
    const input = { ...base, bcc: ['hidden@customer.example'] } as MimeInput;

    // Act
    const { raw } = await buildMime(input);

    // Assess
    expect(headerBlock(raw)).not.toMatch(/^bcc:/im);
    expect(raw.toString('utf8')).not.toContain('hidden@customer.example');
  });

  it('encodes a UTF-8 subject and sends text and html as alternatives', async () => {
    // Prepare
    const input: MimeInput = { ...base, subject: 'Anfrage für Größe ✓', text: 'Grüße', html: '<p>Grüße</p>' };

    // Act
    const { raw } = await buildMime(input);
    const parsed = await simpleParser(raw);

    // Assess
    expect(headerBlock(raw)).toMatch(/^Subject: =\?UTF-8\?[QB]\?/m);
    expect(raw.every((byte) => byte < 0x80)).toBe(true);
    expect(parsed.subject).toBe('Anfrage für Größe ✓');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text?.trim()).toBe('Grüße');
    expect(parsed.html).toContain('<p>Grüße</p>');
  });

  it('generates a Message-ID at the given domain, else at the From domain', async () => {
    // Act
    const atGiven = await buildMime({ ...base, messageIdDomain: 'acme.example' });
    const atFrom = await buildMime(base);
    const parsed = await simpleParser(atGiven.raw);

    // Assess
    expect(atGiven.messageId).toMatch(/^<[0-9a-f-]{36}@acme\.example>$/);
    expect(parsed.messageId).toBe(atGiven.messageId);
    expect(atFrom.messageId).toMatch(/@platform\.example>$/);
  });

  it('keeps a given Message-ID, Date and threading headers, so a rebuild is the same message', async () => {
    // Prepare
    const date = new Date('2025-03-04T05:06:07Z');
    const input: MimeInput = {
      ...base,
      messageId: 'fixed-1@acme.example',
      date,
      inReplyTo: '<parent@acme.example>',
      references: ['<root@acme.example>', '<parent@acme.example>'],
    };

    // Act
    const first = await buildMime(input);
    const second = await buildMime({ ...input, from: '"Platform" <mail@platform.example>' });
    const parsed = await simpleParser(second.raw);

    // Assess
    expect(first.messageId).toBe('<fixed-1@acme.example>');
    expect(second.messageId).toBe(first.messageId);
    expect(parsed.messageId).toBe('<fixed-1@acme.example>');
    expect(parsed.date?.toISOString()).toBe(date.toISOString());
    expect(parsed.inReplyTo).toBe('<parent@acme.example>');
    expect(parsed.references).toEqual(['<root@acme.example>', '<parent@acme.example>']);
  });

  it('uses CRLF line endings only', async () => {
    // Act
    const { raw } = await buildMime({ ...base, text: 'line one\nline two\n', html: '<p>a</p>\n<p>b</p>' });

    // Assess
    expect(raw.toString('utf8')).not.toMatch(/[^\r]\n/);
  });
});
