import { describe, expect, it } from 'vitest';
import { deliveryRefFromTags, deliveryTags } from '../../functions/core/delivery-tags';
import { sesTags } from '../../functions/core/fallback';
import { parseSesEvent, suppressionsFrom, timelineEntries } from '../../functions/core/ses-events';
import { type RecordSpec, sesEventRecord } from '../../infra/local/ses-event-records';

const AT = '2026-12-03T08:00:00.000Z';

/** The tags as SES publishes them in `mail.tags`: name → [value]. */
function published(tags: { Name: string; Value: string }[]): Record<string, string[]> {
  return Object.fromEntries(tags.map((t) => [t.Name, [t.Value]]));
}

function record(spec: RecordSpec, messageId = 'msg-1', tenantId = 'acme'): string {
  const tags = published(sesTags({ tenantId, route: 'platform', fallbackReason: null, messageId }));
  const mail = { messageId: 'ses-1', source: 'mail@platform.example', destination: ['a@b.example'], tags };
  return JSON.stringify(sesEventRecord(mail, spec, AT));
}

describe('delivery tags', () => {
  it.each([
    'msg-1',
    'a5b7c2de-0000-4000-8000-123456789abc',
    'form/42?x=1 & y',
    'ü'.repeat(128),
    '😀'.repeat(64),
    'k'.repeat(128),
  ])('round-trips %j through values SES accepts', (messageId) => {
    // Act
    const tags = deliveryTags('acme_1', messageId);

    // Assess
    for (const tag of tags) {
      expect(tag.Value).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
      expect(tag.Name).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
    }
    expect(deliveryRefFromTags(published(tags))).toEqual({ tenantId: 'acme_1', messageId });
  });

  it.each([
    [undefined],
    [{}],
    [{ tenantId: ['acme'] }],
    [{ messageId: ['bXNnLTE'] }],
    [{ tenantId: ['Not A Tenant'], messageId: ['bXNnLTE'] }],
    [{ tenantId: ['acme'], messageId: ['bXNnLTF'] }],
  ])('names no delivery for %j', (tags) => {
    expect(deliveryRefFromTags(tags)).toBeNull();
  });
});

describe('parseSesEvent', () => {
  it('reads a bounce with its delivery and a stable id from feedbackId', () => {
    // Prepare
    const body = record({
      type: 'Bounce',
      bounceType: 'Permanent',
      bounceSubType: 'General',
      recipients: [{ address: 'Gone@B.Example' }],
      feedbackId: 'fb-1',
    });

    // Act
    const parsed = parseSesEvent(body);

    // Assess
    expect(parsed).toMatchObject({
      ok: true,
      ref: { tenantId: 'acme', messageId: 'msg-1' },
      id: 'bounce:fb-1',
    });
  });

  it('gives the same id to the same delivery record twice, another to a different one', () => {
    const a = record({ type: 'Delivery', recipients: ['a@b.example'] });
    const b = record({ type: 'Delivery', recipients: ['c@b.example'] });

    const idA = parseSesEvent(a);
    const idA2 = parseSesEvent(a);
    const idB = parseSesEvent(b);

    expect(idA.ok && idA2.ok && idB.ok).toBe(true);
    if (!idA.ok || !idA2.ok || !idB.ok) return;
    expect(idA.id).toBe(idA2.id);
    expect(idA.id).not.toBe(idB.id);
  });

  it.each([
    ['not json', '{', 'malformed'],
    ['no eventType', '{}', 'malformed'],
    ['an event type we do not take', JSON.stringify({ eventType: 'Open', mail: {} }), 'unknown-event'],
    [
      'a bounce without recipients',
      JSON.stringify({ eventType: 'Bounce', mail: {}, bounce: {} }),
      'malformed',
    ],
    ['JSON null', 'null', 'malformed'],
  ])('refuses %s', (_name, body, reason) => {
    expect(parseSesEvent(body)).toMatchObject({ ok: false, reason });
  });

  it('refuses a send without our tags as untagged', () => {
    const mail = { messageId: 'ses-9', source: 's@p.example', destination: ['a@b.example'], tags: {} };
    const body = JSON.stringify(sesEventRecord(mail, { type: 'Send' }, AT));

    expect(parseSesEvent(body)).toMatchObject({ ok: false, reason: 'untagged' });
  });
});

describe('timeline and suppression', () => {
  const parse = (spec: RecordSpec) => {
    const parsed = parseSesEvent(record(spec));
    if (!parsed.ok) throw new Error(parsed.detail);
    return parsed.event;
  };

  it('a Permanent bounce is a timeline entry and a suppression per recipient', () => {
    // Prepare
    const event = parse({
      type: 'Bounce',
      bounceType: 'Permanent',
      bounceSubType: 'General',
      recipients: [{ address: 'Gone@Bücher.Example', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
    });

    // Act / Assess
    expect(timelineEntries(event)).toEqual([
      {
        type: 'bounced',
        at: AT,
        recipient: 'gone@xn--bcher-kva.example',
        detail: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          diagnosticCode: 'smtp; 550 5.1.1 user unknown',
        },
      },
    ]);
    expect(suppressionsFrom(event, 'msg-1')).toEqual([
      {
        address: 'gone@xn--bcher-kva.example',
        reason: 'bounce',
        source: 'ses',
        at: AT,
        messageId: 'msg-1',
        detail: 'Permanent: General: smtp; 550 5.1.1 user unknown',
      },
    ]);
  });

  it.each(['Transient', 'Undetermined'] as const)(
    'a %s bounce is recorded but never suppresses',
    (bounceType) => {
      const event = parse({
        type: 'Bounce',
        bounceType,
        bounceSubType: 'MailboxFull',
        recipients: [{ address: 'x@b.example' }],
      });

      expect(timelineEntries(event)).toMatchObject([{ type: 'bounced', detail: { bounceType } }]);
      expect(suppressionsFrom(event, 'msg-1')).toEqual([]);
    },
  );

  it('any complaint suppresses with reason complaint', () => {
    const event = parse({ type: 'Complaint', recipients: ['c@b.example'] });

    expect(timelineEntries(event)).toMatchObject([{ type: 'complained', recipient: 'c@b.example' }]);
    expect(suppressionsFrom(event, 'msg-1')).toMatchObject([
      { address: 'c@b.example', reason: 'complaint', source: 'ses' },
    ]);
  });

  it.each<[RecordSpec, string[]]>([
    [{ type: 'Send' }, []],
    [{ type: 'Delivery', recipients: ['a@b.example', 'c@b.example'] }, ['delivered', 'delivered']],
    [{ type: 'Reject' }, ['rejected']],
    [{ type: 'DeliveryDelay', recipients: ['a@b.example'] }, ['delayed']],
  ])('%j adds %j and suppresses nothing', (spec, types) => {
    const event = parse(spec);

    expect(timelineEntries(event).map((e) => e.type)).toEqual(types);
    expect(suppressionsFrom(event, 'msg-1')).toEqual([]);
  });
});
