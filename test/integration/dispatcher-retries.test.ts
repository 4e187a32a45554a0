import { TooManyRequestsException } from '@aws-sdk/client-sesv2';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../functions/core/ports';
import { type DispatcherFixture, mail, sesTenant, useDispatcherFixture } from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture(
  (started) => {
    f = started;
  },
  { maxAttempts: 3 },
);

/** Seconds from now until the record becomes visible again on the local queue. */
async function visibleInSeconds(record: SQSRecord): Promise<number> {
  const entry = (await f.sqs.inflight('mail')).find((e) => e.receiptHandle === record.receiptHandle);
  if (!entry) throw new Error('the record is not in flight');
  return (entry.visibilityDeadline - Date.now()) / 1000;
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

describe('dispatcher: when SES fails too', () => {
  it('retries with backoff, then dead-letters after MAX_ATTEMPTS and reports the message done', async () => {
    f.failSes((input) =>
      sesTenant(input) === 'sesdown'
        ? new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: {} })
        : undefined,
    );
    const record = only(await f.receive([mail('sesdown')]));

    const first = await f.invoke([record]);
    const firstVisibility = await visibleInSeconds(record);
    const firstLog = only(await f.deliveries('sesdown'));
    const second = await f.invoke([record]);
    const secondVisibility = await visibleInSeconds(record);
    const third = await f.invoke([record], { keep: true });

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(firstVisibility).toBeGreaterThan(2);
    expect(firstVisibility).toBeLessThan(6);
    expect(firstLog).toMatchObject({ status: 'retrying', route: 'platform', attempts: 1 });
    expect(second.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(secondVisibility).toBeGreaterThan(7);
    expect(secondVisibility).toBeLessThan(11);
    expect(third.batchItemFailures).toEqual([]);
    expect(f.sesRequests.filter((r) => sesTenant(r) === 'sesdown')).toHaveLength(3);
    const dlq = only(await f.dlqMessages());
    expect(dlq.body).toBe(record.body);
    expect(dlq.attributes).toMatchObject({ reason: 'undeliverable', tenantId: 'sesdown' });
    expect(dlq.attributes.detail).toContain('after 3 attempts');
    expect(dlq.attributes.detail).toContain('TooManyRequestsException');
    const dead = only(await f.deliveries('sesdown'));
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, fallbackReason: 'no-config', accepted: [] });
    expect(await f.ses.store()).toHaveLength(0);
  });
});

describe('dispatcher: a split message SES cannot finish', () => {
  it('dead-letters it saying how many recipients already have it, so a redrive does not mail them again', async () => {
    const server = await f.smtp.start({ rcpt: { 'busy@example.test': '451 4.3.0 Try again later' } });
    await f.smtpTenant('halfco', server.port);
    f.failSes(
      () => new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: {} }),
    );
    const record = only(await f.receive([mail('halfco', { to: ['ann@example.test', 'busy@example.test'] })]));

    const response = await f.invoke([record], { handler: f.newContainer({ maxAttempts: 1 }) });

    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    const dlq = only(await f.dlqMessages());
    expect(dlq.body).toBe(record.body);
    expect(dlq.attributes.detail).toContain('already delivered to 1 of 2 recipients');
    expect(only(await f.deliveries('halfco'))).toMatchObject({
      status: 'dead',
      route: 'split',
      accepted: ['ann@example.test'],
    });
  });
});

describe('dispatcher: the same message twice', () => {
  it('sends once when the same record is invoked again, and reports it done once the lease is over', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('twiceco', server.port);
    const record = only(await f.receive([mail('twiceco', { idempotencyKey: 'order-42' })]));

    const first = await f.invoke([record], { keep: true });
    const second = await f.invoke([record], { keep: true });
    const secondVisibility = await visibleInSeconds(record);
    f.clock.shift(25_000); // past the first invocation's lease
    const third = await f.invoke([record], { keep: true });
    // The producer sends it again (same idempotencyKey): a new SQS message, already done.
    const resent = await f.invoke(await f.receive([mail('twiceco', { idempotencyKey: 'order-42' })]));

    expect(first.batchItemFailures).toEqual([]);
    // The first invocation's lease (its deadline, 20 s) is still live: leave it queued until then.
    expect(second.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(secondVisibility).toBeGreaterThan(15);
    expect(secondVisibility).toBeLessThan(21.5);
    expect(third.batchItemFailures).toEqual([]);
    expect(resent.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(f.sesRequests).toHaveLength(0);
    expect(only(await f.deliveries('twiceco'))).toMatchObject({
      messageId: 'order-42',
      status: 'sent',
      route: 'smtp',
    });
  });

  it('sends once when two containers get the same record while the first is still sending', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('raceco', server.port);
    const record = only(await f.receive([mail('raceco')]));
    let claimed = (): void => undefined;
    const reachedLoad = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Container A holds the claim: it stops right after claiming, before it sends.
    const slowStore: Store = {
      ...f.store,
      claimMessage: async (input) => {
        const claim = await f.store.claimMessage(input);
        claimed();
        await gate;
        return claim;
      },
    };
    const a = f.newContainer({ store: slowStore });
    const b = f.newContainer();

    const firstRun = f.invoke([record], { handler: a, keep: true });
    await reachedLoad;
    const leaseEnd = f.clock.now() + 20_000;
    const second = await f.invoke([record], { handler: b, keep: true });
    const secondVisibility = await visibleInSeconds(record);
    release();
    const first = await firstRun;

    expect(second.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(secondVisibility).toBeGreaterThan((leaseEnd - f.clock.now()) / 1000 - 2);
    expect(secondVisibility).toBeLessThan(21.5);
    expect(first.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(server.connections()).toBe(1);
    expect(only(await f.deliveries('raceco'))).toMatchObject({ status: 'sent', route: 'smtp', attempts: 1 });
  });
});

describe('dispatcher: fallback policy hold', () => {
  it('never uses SES: the message stays queued until the breaker retryAt, exempt from MAX_ATTEMPTS', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('holdco', server.port, { fallback: 'hold', password: 'wrong-password' });
    const record = only(await f.receive([mail('holdco')]));

    const first = await f.invoke([record]);
    const firstVisibility = await visibleInSeconds(record);
    const health = await f.health('holdco');
    const later = [];
    for (let i = 0; i < 3; i++) later.push(await f.invoke([record]));

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(health?.state).toBe('unhealthy');
    const untilRetry = (Date.parse(health?.retryAt ?? '') - f.clock.now()) / 1000;
    expect(firstVisibility).toBeGreaterThan(untilRetry - 3);
    expect(firstVisibility).toBeLessThan(untilRetry + 1.5);
    for (const r of later) expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(server.connections()).toBe(1); // later receives skip the open breaker
    expect(server.received).toHaveLength(0);
    expect(f.sesRequests).toHaveLength(0);
    expect(await f.dlqMessages()).toEqual([]);
    const held = only(await f.deliveries('holdco'));
    expect(held).toMatchObject({ status: 'held', attempts: 4, fallbackReason: 'unhealthy', accepted: [] });
  });

  it('counts attempts toward MAX_ATTEMPTS only from a switch to platform: held ones are exempt', async () => {
    // Prepare: held 4 times (more than MAX_ATTEMPTS = 3), then the tenant switches to `platform`
    // while SES refuses everything of this tenant.
    const server = await f.smtp.start();
    await f.smtpTenant('switchco', server.port, { fallback: 'hold', password: 'wrong-password' });
    const record = only(await f.receive([mail('switchco')]));
    for (let i = 0; i < 4; i++) await f.invoke([record]);
    expect(only(await f.deliveries('switchco'))).toMatchObject({
      status: 'held',
      attempts: 4,
      heldAttempts: 4,
    });
    await f.smtpTenant('switchco', server.port, { fallback: 'platform', password: 'wrong-password' });
    f.failSes((input) =>
      sesTenant(input) === 'switchco'
        ? new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata: {} })
        : undefined,
    );

    // Act
    const first = await f.invoke([record]);
    const firstLog = only(await f.deliveries('switchco'));
    const second = await f.invoke([record]);
    const third = await f.invoke([record], { keep: true });

    // Assess: attempt 1 and 2 after the switch retry, the third dead-letters.
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(firstLog).toMatchObject({
      status: 'retrying',
      attempts: 5,
      heldAttempts: 4,
      fallbackReason: 'auth',
    });
    expect(second.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(third.batchItemFailures).toEqual([]);
    expect(f.sesRequests.filter((r) => sesTenant(r) === 'switchco')).toHaveLength(3);
    const dlq = only(await f.dlqMessages());
    expect(dlq.attributes).toMatchObject({ reason: 'undeliverable', tenantId: 'switchco' });
    expect(dlq.attributes.detail).toContain('after 3 attempts');
    expect(only(await f.deliveries('switchco'))).toMatchObject({
      status: 'dead',
      attempts: 7,
      heldAttempts: 4,
    });
    f.failSes(undefined);
  });

  it('dead-letters a held message older than HOLD_MAX_AGE (held-expired)', async () => {
    const port = await f.smtp.closedPort();
    await f.smtpTenant('oldhold', port, { fallback: 'hold' });
    const received = only(await f.receive([mail('oldhold')]));
    // Sent 1 h and 1 s ago (the fixture's HOLD_MAX_AGE is 3600 s).
    const record: SQSRecord = {
      ...received,
      attributes: { ...received.attributes, SentTimestamp: String(f.clock.now() - 3_601_000) },
    };

    const response = await f.invoke([record]);

    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(0);
    const dlq = only(await f.dlqMessages());
    expect(dlq.body).toBe(record.body);
    expect(dlq.attributes).toMatchObject({ reason: 'held-expired', tenantId: 'oldhold' });
    expect(dlq.attributes.detail).toContain('connection');
    expect(only(await f.deliveries('oldhold'))).toMatchObject({
      status: 'dead',
      fallbackReason: 'connection',
    });
  });
});
