import { describe, expect, it } from 'vitest';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import { createTenantSmtpSender } from '../../functions/adapters/tenant-smtp';
import { type DispatcherFixture, mail, useDispatcherFixture } from '../support/dispatcher';
import { testSenderOptions } from '../support/smtp';

// Fairness inside one batch: a tenant whose server is a tarpit never holds up another tenant's mail.

let fx: DispatcherFixture;
useDispatcherFixture((f) => {
  fx = f;
});

describe('a tarpit tenant and a healthy tenant in one batch', () => {
  it("the healthy tenant's messages finish while the tarpit still holds its first one", async () => {
    // Prepare: the tarpit answers its first message only once every healthy message has arrived, so
    // the batch can only finish if the healthy tenant never waits for the tarpit tenant.
    const healthy = await fx.smtp.start();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tarpit = await fx.smtp.start({ holdReply: () => gate });
    await fx.smtpTenant('tarpit', tarpit.port);
    await fx.smtpTenant('healthy', healthy.port);
    // Generous timeouts: a slow machine must not turn the tarpit into a failure (and a fallback).
    const smtp = createTenantSmtpSender(
      testSenderOptions({
        credentials: createKmsCredentials(fx.cipher),
        clock: fx.clock,
        timeouts: { connectMs: 15_000, commandMs: 15_000, dataReplyMs: 15_000 },
        allowInsecure: true,
      }),
    );
    const handler = fx.newContainer({ smtp });
    const bodies = [
      ...[1, 2, 3].map((n) => mail('tarpit', { subject: `tarpit ${n}`, idempotencyKey: `tarpit-${n}` })),
      ...[1, 2, 3].map((n) => mail('healthy', { subject: `healthy ${n}`, idempotencyKey: `healthy-${n}` })),
    ];
    const records = await fx.receive(bodies);
    const healthyAtRelease: number[] = [];
    const watcher = setInterval(() => {
      if (healthy.received.length < 3) return;
      healthyAtRelease.push(healthy.received.length, tarpit.received.length);
      clearInterval(watcher);
      release();
    }, 10);

    // Act
    const response = await fx.invoke(records, { handler, remainingMs: 40_000 });
    clearInterval(watcher);
    smtp.close();

    // Assess: all six went through their own tenant's server; when the healthy three were in, the
    // tarpit had accepted none.
    expect(response.batchItemFailures).toEqual([]);
    expect(healthyAtRelease).toEqual([3, 0]);
    expect(tarpit.received).toHaveLength(3);
    expect(fx.sesRequests).toHaveLength(0);
    const routes = [...(await fx.deliveries('tarpit')), ...(await fx.deliveries('healthy'))].map(
      (d) => d.route,
    );
    expect(routes).toEqual(Array(6).fill('smtp'));
  });
});
