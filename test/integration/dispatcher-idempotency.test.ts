import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../functions/core/idempotency';
import { parseQueueMessage } from '../../functions/core/message';
import { captureOutput, type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';

// docs/design.md §12: the claim keeps the message's content hash. Same key and content: a duplicate,
// dropped and logged. Same key, other content: the DLQ with reason `idempotency-conflict`, counted.

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

/** A container whose logs and metrics come out on stdout (read through captureOutput). */
function loudContainer() {
  return f.newContainer({ logger: new Logger({ serviceName: 'dispatcher-test', logLevel: 'INFO' }) });
}

describe('dispatcher: an idempotency key reused', () => {
  it('drops a second message with the same key and content as a logged duplicate', async () => {
    // Prepare
    await f.platformTenant('idemsame');
    const first = mail('idemsame', { idempotencyKey: 'form-41' });
    await f.invoke(await f.receive([first]));
    f.clock.shift(25_000); // past the first invocation's lease: the claim is free again

    // Act
    const { text } = await captureOutput(async () => {
      // The same message with its fields in another order: the same content.
      const reordered = Object.fromEntries(Object.entries(first).reverse());
      const records = await f.receive([reordered]);
      const response = await f.invoke(records, { handler: loudContainer() });
      expect(response.batchItemFailures).toEqual([]);
    });

    // Assess
    expect(f.sesRequests).toHaveLength(1);
    expect(await f.dlqMessages()).toEqual([]);
    expect(text).toContain('of a finished message: nothing sent');
    expect((await f.deliveries('idemsame')).map((d) => d.status)).toEqual(['sent']);
  });

  it('dead-letters a message reusing a finished key with other content, verbatim, counted by reason', async () => {
    // Prepare
    await f.platformTenant('idemother');
    await f.invoke(await f.receive([mail('idemother', { idempotencyKey: 'form-42' })]));
    const reused = JSON.stringify(mail('idemother', { idempotencyKey: 'form-42', subject: 'Another form' }));

    // Act
    const { emf } = await captureOutput(async () => {
      const response = await f.invoke(await f.receive([reused]), { handler: loudContainer() });
      expect(response.batchItemFailures).toEqual([]);
    });

    // Assess
    expect(f.sesRequests).toHaveLength(1); // only the first message went out
    const dlq = await f.dlqMessages();
    expect(dlq).toHaveLength(1);
    expect(dlq[0]?.body).toBe(reused);
    expect(dlq[0]?.attributes).toMatchObject({ reason: 'idempotency-conflict', tenantId: 'idemother' });
    expect(dlq[0]?.attributes.detail).toContain('other content');
    const counted = emf.filter((m) => m.DeadLettered !== undefined);
    expect(counted).toEqual([expect.objectContaining({ DeadLettered: 1, reason: 'idempotency-conflict' })]);
    const log = await f.deliveries('idemother');
    expect(log.map((d) => [d.status, d.attempts])).toEqual([['sent', 1]]);
  });

  it('sends the first of two messages sharing a key in one batch and dead-letters the other', async () => {
    // Prepare
    await f.platformTenant('idembatch');
    const records = await f.receive([
      mail('idembatch', { idempotencyKey: 'form-43', subject: 'First' }),
      mail('idembatch', { idempotencyKey: 'form-43', subject: 'Second' }),
    ]);

    // Act
    const response = await f.invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    const dlq = await f.dlqMessages();
    expect(dlq.map((m) => m.attributes.reason)).toEqual(['idempotency-conflict']);
    const sentSubject = JSON.parse(dlq[0]?.body ?? '{}').subject === 'First' ? 'Second' : 'First';
    expect(Buffer.from(f.sesRequests[0]?.Content?.Raw?.Data ?? []).toString()).toContain(
      `Subject: ${sentSubject}`,
    );
  });

  it('keeps one key per tenant: the same key with other content at another tenant is sent', async () => {
    // Prepare
    await f.platformTenant('idemone');
    await f.platformTenant('idemtwo');
    await f.invoke(await f.receive([mail('idemone', { idempotencyKey: 'form-44' })]));

    // Act
    await f.invoke(await f.receive([mail('idemtwo', { idempotencyKey: 'form-44', subject: 'Theirs' })]));

    // Assess
    expect(f.sesRequests).toHaveLength(2);
    expect(await f.dlqMessages()).toEqual([]);
  });
});

describe('dispatcher: an attempt that ended without a word', () => {
  /** Takes the message's claim as an earlier attempt would have, lease until 1 s from now. */
  async function claimAsEarlierAttempt(tenantId: string, body: Record<string, unknown>) {
    const parsed = parseQueueMessage(JSON.stringify(body));
    if (!parsed.ok) throw new Error(parsed.detail);
    const now = f.clock.now();
    const key = String(body.idempotencyKey);
    await f.store.claimMessage({
      tenantId,
      key,
      leaseUntil: now + 1_000,
      now,
      contentHash: contentHash(parsed.message),
    });
    return key;
  }

  it('its lease lapsed with no record (it may have sent, then died): the next send is a possible duplicate', async () => {
    // Prepare
    await f.platformTenant('crashed');
    const body = mail('crashed', { idempotencyKey: 'form-50' });
    await claimAsEarlierAttempt('crashed', body);
    f.clock.shift(2_000); // the dead attempt's lease runs out

    // Act
    const response = await f.invoke(await f.receive([body]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    const [record] = await f.deliveries('crashed');
    expect(record).toMatchObject({ status: 'sent', attempts: 2, possibleDuplicate: true });
  });

  it('its lease released (it failed and said so): the next send is no duplicate', async () => {
    // Prepare
    await f.platformTenant('released');
    const body = mail('released', { idempotencyKey: 'form-51' });
    const key = await claimAsEarlierAttempt('released', body);
    await f.store.releaseMessage('released', key);

    // Act
    const response = await f.invoke(await f.receive([body]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const [record] = await f.deliveries('released');
    expect(record).toMatchObject({ status: 'sent', attempts: 2 });
    expect(record?.possibleDuplicate).not.toBe(true);
  });
});
