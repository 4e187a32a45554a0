import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseQueueMessage } from '../../functions/core/message';
import type { DlqEntry, MailQueue } from '../../functions/core/ports';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { localLambdaContext } from '../../infra/local/lambda-context';
import { type DispatcherFixture, useDispatcherFixture } from '../support/dispatcher';

// 10,000 generated queue messages (valid, near-valid with one known fault, hostile) through the real
// dispatcher handler, in batches of 10: no batch item fails, a valid message is sent, anything else is
// dead-lettered with reason `validation` and a detail that starts with the field at fault.

let fx: DispatcherFixture;
useDispatcherFixture((f) => {
  fx = f;
});

const BATCHES = 1_000;
const TENANTS = ['fz-a', 'fz-b', 'fz-c'];

/** What a generated message must lead to: sent, refused naming `field`, or either (hostile input). */
type Expect =
  | { kind: 'sent'; tenantId: string; key: string }
  | { kind: 'refused'; field: string }
  | { kind: 'any' };
interface Case {
  body: string;
  expect: Expect;
}

/**
 * SQS carries only these characters in a body; anything else never reaches a consumer. (SQS also takes
 * U+10000..U+10FFFF, but the local SQS refuses them, so the DLQ copy of such a body would fail here.)
 */
const sqsSafe = (text: string) => text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/gu, '?');

let serial = 0;
const address = fc.constantFrom(
  'ann@example.test',
  'bob.smith+tag@sub.example.test',
  'ann@bücher.example',
  'info@xn--mnchen-3ya.example',
  "o'hara@example.test",
);
const valid = fc
  .record(
    {
      tenantId: fc.constantFrom(...TENANTS),
      kind: fc.constantFrom('notification', 'autoresponder', 'digest'),
      to: fc.oneof(address, fc.uniqueArray(address, { minLength: 1, maxLength: 3 })),
      subject: fc
        .string({ unit: 'grapheme', maxLength: 60 })
        .map((s) => s.replace(/[\p{Cc}\u2028\u2029]/gu, '')),
      text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
      headers: fc.constant({ 'X-Campaign': 'fuzz' }),
    },
    { requiredKeys: ['tenantId', 'to', 'subject', 'text'] },
  )
  .map((m) => {
    serial += 1;
    return { v: 1, ...m, idempotencyKey: `fz-${serial}` };
  });

const base = { v: 1, tenantId: 'fz-a', to: 'ann@example.test', subject: 'Hello', text: 'Body' };
const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}@example.test`);

/** One fault each, and the field the refusal must name. */
const mutations: [Record<string, unknown>, string][] = [
  [{ subject: 'Hi\r\nBcc: victim@example.test' }, 'subject'],
  [{ subject: 'x'.repeat(999) }, 'subject'],
  [{ headers: { 'X-Tag': 'v\r\nBcc: e@example.test' } }, 'headers.X-Tag'],
  [{ headers: { 'X-SES-CONFIGURATION-SET': 'other' } }, 'headers.X-SES-CONFIGURATION-SET'],
  [{ to: many(51, 'u') }, 'to'],
  [{ to: many(30, 'u'), cc: many(21, 'c') }, 'to'],
  [{ text: 'x'.repeat(256 * 1024 + 1) }, 'text'],
  [{ to: 42 }, 'to'],
  [{ to: ['jörg@example.test'] }, 'to[0]'],
  [{ to: ['a@b@example.test'] }, 'to[0]'],
  [{ to: ['Ann <ann@example.test>'] }, 'to[0]'],
  [{ v: 2 }, 'v'],
  [{ v: '1' }, 'v'],
  [{ tenantId: 'Bad Tenant' }, 'tenantId'],
  [{ tenantId: 7 }, 'tenantId'],
  [{ kind: 'spam' }, 'kind'],
  [{ surprise: true }, 'surprise'],
  [{ from: 'ceo@other.example' }, 'from'],
  [{ idempotencyKey: 'a\u0000b' }, 'idempotencyKey'],
  [{ replyTo: 'not an address' }, 'replyTo'],
  [{ cc: 'c@example.test' }, 'cc'],
  [{ unsubscribeUrl: 'javascript:alert(1)' }, 'unsubscribeUrl'],
  [{ references: 'no-id' }, 'references[0]'],
  [{ text: undefined }, 'text'],
];
const nearValid = fc.constantFrom(...mutations).map(([change, field]): Case => {
  const body = JSON.stringify({ ...base, ...change });
  return { body, expect: { kind: 'refused', field } };
});

const hostile = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.anything({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'undefined'),
    fc.constantFrom(' ', '{', '{"v":1', 'null', '[]', '"text"', '{"__proto__":{"polluted":1}}'),
  )
  // SQS refuses an empty body, so none ever arrives.
  .map((body): Case => ({ body: sqsSafe(body) || ' ', expect: { kind: 'any' } }));

const oneCase: fc.Arbitrary<Case> = fc.oneof(
  {
    weight: 1,
    arbitrary: valid.map(
      (m): Case => ({
        body: JSON.stringify(m),
        expect: { kind: 'sent', tenantId: m.tenantId, key: m.idempotencyKey },
      }),
    ),
  },
  { weight: 15, arbitrary: nearValid },
  { weight: 30, arbitrary: hostile },
);

function record(body: string, i: number): SQSRecord {
  return {
    messageId: `fuzz-${i}`,
    receiptHandle: `fuzz-${i}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'fuzz',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:mail',
    awsRegion: 'us-east-1',
  };
}

/** The real queue adapter, with every DLQ entry it sent kept for the assertions. */
function recordingQueue(queue: MailQueue, sent: DlqEntry[]): MailQueue {
  return {
    changeVisibility: (handle, seconds) => queue.changeVisibility(handle, seconds),
    async sendToDlq(entry) {
      const out = await queue.sendToDlq(entry);
      sent.push(entry);
      return out;
    },
  };
}

describe('fuzz: generated queue messages through the real handler', () => {
  it(`${BATCHES * 10} messages: sent, or dead-lettered for validation naming the field`, async () => {
    const dlq: DlqEntry[] = [];
    const handler: DispatchHandler = fx.newContainer({ queue: recordingQueue(fx.deps.queue, dlq) });
    let n = 0;
    const tally = { sent: 0, refused: 0, any: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(oneCase, { minLength: 10, maxLength: 10 }), async (cases) => {
        const first = n;
        n += cases.length;
        const records = cases.map((c, i) => record(c.body, first + i));
        const before = dlq.length;
        const context = localLambdaContext('dispatcher', 20_000, fx.clock.now);
        const response = await handler({ Records: records }, context);
        expect(response.batchItemFailures).toEqual([]);
        const dead = dlq.slice(before);
        for (const entry of dead) {
          expect(entry.reason).toBe('validation');
          expect(entry.detail).toMatch(/^\S.*: \S/);
        }
        const deadByBody = new Map<string, DlqEntry[]>();
        for (const entry of dead) deadByBody.set(entry.body, [...(deadByBody.get(entry.body) ?? []), entry]);
        for (const c of cases) {
          const entries = deadByBody.get(c.body) ?? [];
          if (c.expect.kind === 'sent') {
            expect(entries).toEqual([]);
            const delivery = await fx.store.getDeliveryByMessageId(c.expect.tenantId, c.expect.key);
            expect(delivery?.status, c.body).toBe('sent');
            tally.sent += 1;
          } else if (c.expect.kind === 'refused') {
            expect(entries.length, c.body.slice(0, 200)).toBeGreaterThan(0);
            expect(entries[0]?.detail.startsWith(`${c.expect.field}: `), entries[0]?.detail).toBe(true);
            tally.refused += 1;
          } else {
            tally.any += 1;
            if (entries.length > 0) continue;
            // Not dead-lettered: it must have been valid mail, and sent.
            const parsed = parseQueueMessage(c.body);
            expect(parsed.ok, c.body.slice(0, 200)).toBe(true);
            if (!parsed.ok) continue;
            const key = parsed.message.idempotencyKey ?? records[cases.indexOf(c)]?.messageId ?? '';
            const delivery = await fx.store.getDeliveryByMessageId(parsed.message.tenantId, key);
            expect(delivery?.status).toBe('sent');
          }
        }
      }),
      { numRuns: BATCHES, seed: 20261203, endOnFailure: true },
    );
    expect(tally.sent).toBeGreaterThan(BATCHES / 10);
    expect(tally.refused).toBeGreaterThan(BATCHES * 2);
    expect(tally.any).toBeGreaterThan(BATCHES * 5);
  }, 600_000);
});
