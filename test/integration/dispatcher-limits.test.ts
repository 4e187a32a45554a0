import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { limitWindows, RATE_LIMIT_MAX_WAIT_MS } from '../../functions/core/limits';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';

// Per-tenant sending limits (docs/design.md §21): reserved in counters shared by every container,
// perMinute in messages, perDay in recipients; over a limit a message waits (delayed) or leaves by the
// fallback as `rate-limited` (held under the hold policy).

let fx: DispatcherFixture;
useDispatcherFixture((f) => {
  fx = f;
});

/** Moves the fixture's clock to 1 s into the next minute, so a test's sends share one minute window. */
function startOfMinute(): void {
  const now = fx.clock.now();
  fx.clock.shift(limitWindows(now).minuteEndsAt - now + 1000);
}

const bodies = (tenantId: string, n: number, extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) =>
    mail(tenantId, { subject: `${tenantId} ${i}`, idempotencyKey: `${tenantId}-${i}`, ...extra }),
  );

async function statuses(tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const d of await fx.deliveries(tenantId)) counts[d.status] = (counts[d.status] ?? 0) + 1;
  return counts;
}

describe('sending limits', () => {
  it('two containers sharing the table never let more than perMinute messages reach the server in a minute', async () => {
    // Prepare
    startOfMinute();
    const server = await fx.smtp.start();
    await fx.smtpTenant('lim-two', server.port, { limits: { perMinute: 5 } });
    const [a, b] = [fx.newContainer(), fx.newContainer()];
    const records = await fx.receive(bodies('lim-two', 12));

    // Act: both containers at once, six records each.
    const [first, second] = await Promise.all([
      fx.invoke(records.slice(0, 6), { handler: a }),
      fx.invoke(records.slice(6), { handler: b }),
    ]);
    const inFirstMinute = server.received.length;
    const stillHidden = await fx.sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: fx.sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const afterFirst = await statuses('lim-two');
    // The next minute: the delayed ones come back (the same records, as SQS would redeliver them).
    fx.clock.shift(60_000);
    const delayedRecords = records.filter((r) =>
      [...first.batchItemFailures, ...second.batchItemFailures].some((f) => f.itemIdentifier === r.messageId),
    );
    await fx.invoke(delayedRecords, { handler: a });

    // Assess
    expect(inFirstMinute).toBe(5);
    expect(first.batchItemFailures.length + second.batchItemFailures.length).toBe(7);
    expect(stillHidden.Messages ?? []).toEqual([]);
    expect(afterFirst).toEqual({ sent: 5, delayed: 7 });
    expect(server.received).toHaveLength(10);
    expect(await statuses('lim-two')).toEqual({ sent: 10, delayed: 2 });
    expect(fx.sesRequests).toHaveLength(0);
    const delayed = (await fx.deliveries('lim-two')).find((d) => d.status === 'delayed');
    expect(delayed).toMatchObject({ route: null, fallbackReason: null, heldAttempts: 2 });
  });

  it('counts recipients against perDay: a message that does not fit leaves by the platform at once', async () => {
    // Prepare
    const server = await fx.smtp.start();
    await fx.smtpTenant('lim-day', server.port, { limits: { perDay: 3 } });
    const two = { to: ['ann@example.test', 'bob@example.test'] };
    const records = await fx.receive(bodies('lim-day', 2, two));

    // Act
    const response = await fx.invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(fx.sesRequests).toHaveLength(1);
    const byRoute = (await fx.deliveries('lim-day')).map((d) => [d.route, d.fallbackReason, d.status]).sort();
    expect(byRoute).toEqual([
      ['platform', 'rate-limited', 'sent'],
      ['smtp', null, 'sent'],
    ]);
  });

  it('sends a message that waited longer than 10 minutes for a full minute through the platform', async () => {
    // Prepare: the message has waited past the limit's wait, and other containers filled this minute.
    const server = await fx.smtp.start();
    await fx.smtpTenant('lim-wait', server.port, { limits: { perMinute: 2 } });
    const records = await fx.receive(bodies('lim-wait', 1));
    fx.clock.shift(RATE_LIMIT_MAX_WAIT_MS + 60_000);
    const now = fx.clock.now();
    const window = limitWindows(now);
    await fx.store.reserveLimit('lim-wait', window.minute, 2, 2, Math.ceil(window.minuteEndsAt / 1000) + 60);

    // Act
    const response = await fx
      .invoke(records)
      .finally(() => fx.clock.shift(-(RATE_LIMIT_MAX_WAIT_MS + 60_000)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(0);
    expect(fx.sesRequests).toHaveLength(1);
    expect((await fx.deliveries('lim-wait'))[0]).toMatchObject({
      route: 'platform',
      fallbackReason: 'rate-limited',
      status: 'sent',
    });
  });

  it('holds a hold-policy message over perDay instead of using the platform, not counting an attempt', async () => {
    // Prepare
    const server = await fx.smtp.start();
    await fx.smtpTenant('lim-hold', server.port, { fallback: 'hold', limits: { perDay: 1 } });
    const records = await fx.receive(bodies('lim-hold', 1, { to: ['ann@example.test', 'bob@example.test'] }));

    // Act
    const response = await fx.invoke(records);

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    expect(server.received).toHaveLength(0);
    expect(fx.sesRequests).toHaveLength(0);
    expect((await fx.deliveries('lim-hold'))[0]).toMatchObject({
      status: 'held',
      fallbackReason: 'rate-limited',
      heldAttempts: 1,
    });
  });

  it('keeps a limited tenant from holding up an unlimited one in the same batch, at one counter write', async () => {
    // Prepare: the limited tenant's minute is already full.
    startOfMinute();
    const limitedServer = await fx.smtp.start();
    const freeServer = await fx.smtp.start();
    await fx.smtpTenant('lim-full', limitedServer.port, { limits: { perMinute: 1 } });
    await fx.smtpTenant('lim-free', freeServer.port);
    const window = limitWindows(fx.clock.now());
    await fx.store.reserveLimit('lim-full', window.minute, 1, 1, Math.ceil(window.minuteEndsAt / 1000) + 60);
    const records = await fx.receive([...bodies('lim-full', 3), ...bodies('lim-free', 3)]);
    const handler = fx.newContainer();
    const before = fx.counts.dynamo.UpdateItem ?? 0;

    // Act
    const response = await fx.invoke(records, { handler });

    // Assess
    expect(response.batchItemFailures).toHaveLength(3);
    expect(freeServer.received).toHaveLength(3);
    expect(limitedServer.received).toHaveLength(0);
    expect(await statuses('lim-full')).toEqual({ delayed: 3 });
    // Claims (6) and releases of the delayed (3), plus the one reservation of the limited tenant.
    expect((fx.counts.dynamo.UpdateItem ?? 0) - before).toBeLessThanOrEqual(6 + 3 + 1);
  });
});
