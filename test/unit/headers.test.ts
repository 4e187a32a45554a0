import { describe, expect, it } from 'vitest';
import { dispatchHeaders } from '../../functions/core/headers';
import { parseQueueMessage, type QueueMessage } from '../../functions/core/message';

function message(overrides: Record<string, unknown> = {}): QueueMessage {
  const parsed = parseQueueMessage(
    JSON.stringify({ v: 1, tenantId: 'acme', to: 'a@acme.example', subject: 's', text: 't', ...overrides }),
  );
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.message;
}

describe('dispatchHeaders', () => {
  it.each([
    ['notification', 'auto-generated'],
    ['digest', 'auto-generated'],
    ['autoresponder', 'auto-replied'],
  ])('%s → Auto-Submitted: %s', (kind, value) => {
    expect(dispatchHeaders(message({ kind }))).toEqual({ 'Auto-Submitted': value });
  });

  it.each([
    [
      'https',
      'https://acme.example/u?t=1',
      {
        'List-Unsubscribe': '<https://acme.example/u?t=1>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    ],
    ['mailto', 'mailto:unsub@acme.example', { 'List-Unsubscribe': '<mailto:unsub@acme.example>' }],
  ])('List-Unsubscribe for %s', (_name, unsubscribeUrl, expected) => {
    // Act
    const headers = dispatchHeaders(message({ unsubscribeUrl }));

    // Assess
    expect(headers).toEqual({ 'Auto-Submitted': 'auto-generated', ...expected });
  });

  it('adds threading headers and the message X-* headers', () => {
    // Prepare
    const m = message({
      inReplyTo: '<p@acme.example>',
      references: '<a@acme.example> <p@acme.example>',
      headers: { 'X-Form-Id': 'contact', 'X-Lead': '42' },
    });

    // Act
    const headers = dispatchHeaders(m);

    // Assess
    expect(headers).toEqual({
      'X-Form-Id': 'contact',
      'X-Lead': '42',
      'Auto-Submitted': 'auto-generated',
      'In-Reply-To': '<p@acme.example>',
      References: '<a@acme.example> <p@acme.example>',
    });
    expect(Object.values(headers).join('')).not.toMatch(/[\r\n]/);
  });

  it('does not share the message headers object', () => {
    const m = message({ headers: { 'X-A': '1' } });
    dispatchHeaders(m).Extra = 'x';
    expect(m.headers).toEqual({ 'X-A': '1' });
  });
});
