import { describe, expect, it } from 'vitest';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import {
  createTenantSmtpSender,
  DEFAULT_TIMEOUTS,
  type SenderTimeouts,
} from '../../functions/adapters/tenant-smtp';
import type { DeliveryRecord } from '../../functions/core/store-port';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';
import { SILENT, TEST_CA } from '../support/smtp';

// Slow and hung tenant servers against the contract's own timeouts (docs/design.md §11): 10 s for the
// greeting and for each reply before DATA, DATA_REPLY_TIMEOUT_SECONDS (300 s) for the reply after ".".
let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

/** A dispatcher container whose tenant SMTP sender runs with the given timeouts (default: the contract's). */
function containerWith(timeouts: Partial<SenderTimeouts> = {}) {
  const smtp = createTenantSmtpSender({
    vet: async () => ({ address: '127.0.0.1' }),
    credentials: createKmsCredentials(f.cipher),
    clock: f.clock,
    timeouts: { ...DEFAULT_TIMEOUTS, ...timeouts },
    tls: { ca: [TEST_CA] },
    allowInsecure: true,
    name: 'dispatcher.test',
  });
  return { smtp, handler: f.newContainer({ smtp }) };
}

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

/** Enough invocation time for the whole reply wait after DATA plus everything before it. */
const LAMBDA_MS = DEFAULT_TIMEOUTS.dataReplyMs + 60_000;

describe('dispatcher: a server that greets and then hangs', () => {
  it('falls back within 12 s per attempt, whether it hangs after EHLO, AUTH or RCPT', async () => {
    // Prepare: three tenants in one batch (tenants run in parallel), each server silent at one step.
    const hangs = { hangehlo: 'EHLO', hangauth: 'AUTH', hangrcpt: 'RCPT' } as const;
    for (const [tenantId, verb] of Object.entries(hangs)) {
      const server = await f.smtp.startScripted({ [verb]: SILENT });
      await f.smtpTenant(tenantId, server.port, { security: 'none' });
    }
    const { smtp, handler } = containerWith();
    const records = await f.receive(Object.keys(hangs).map((tenantId) => mail(tenantId)));

    // Act
    const response = await f.invoke(records, { remainingMs: LAMBDA_MS, handler });
    smtp.close();

    // Assess: by outcome and by the durations the delivery record and the failure record keep.
    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(3);
    for (const [tenantId, phase] of Object.entries(hangs)) {
      const record: DeliveryRecord = only(await f.deliveries(tenantId));
      expect(record).toMatchObject({ status: 'sent', route: 'platform', fallbackReason: 'connection' });
      expect(record.timings.tenantMs).toBeGreaterThanOrEqual(10_000);
      expect(record.timings.tenantMs).toBeLessThan(12_000);
      const health = await f.health(tenantId);
      expect(health?.lastFailure).toMatchObject({ class: 'connection', phase, code: 'ETIMEDOUT' });
    }
  }, 30_000);
});

describe('dispatcher: a server slow to confirm the message', () => {
  it('waits 40 s for the 250 after ".": one delivery, at the tenant, no SES copy', async () => {
    // Prepare: smtp-server (STARTTLS, AUTH) answers the final "." forty seconds late.
    const server = await f.smtp.start({ replyAfterDotMs: 40_000 });
    await f.smtpTenant('slowrelay', server.port);
    const { smtp, handler } = containerWith();
    const records = await f.receive([mail('slowrelay')]);

    // Act
    const response = await f.invoke(records, { remainingMs: LAMBDA_MS, handler });
    smtp.close();

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(f.sesRequests).toHaveLength(0);
    const record = only(await f.deliveries('slowrelay'));
    expect(record).toMatchObject({ status: 'sent', route: 'smtp', accepted: ['ann@example.test'] });
    expect(record.possibleDuplicate).toBeUndefined();
    expect(record.timings.tenantMs).toBeGreaterThanOrEqual(40_000);
  }, 60_000);

  it('leaves the message for the next invocation when the reply after DATA could not be awaited', async () => {
    // Prepare: the reply wait (30 s) does not fit in what the invocation has left (20 s).
    const server = await f.smtp.start();
    await f.smtpTenant('shortcall', server.port);
    const { smtp, handler } = containerWith({ dataReplyMs: 30_000 });
    const record = only(await f.receive([mail('shortcall')]));

    // Act
    const response = await f.invoke([record], { remainingMs: 20_000, handler, keep: true });
    smtp.close();

    // Assess: nothing sent anywhere, the tenant not blamed, the attempt not counted.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(server.received).toHaveLength(0);
    expect(f.sesRequests).toHaveLength(0);
    expect(only(await f.deliveries('shortcall'))).toMatchObject({ status: 'held', heldAttempts: 1 });
    expect(await f.health('shortcall')).toMatchObject({ consecutiveFailures: 0, lastFailure: null });

    // Act again: the next invocation, with its whole time, sends it.
    const next = await f.invoke([record], { remainingMs: LAMBDA_MS });
    expect(next.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
  });
});
