import { describe, expect, it } from 'vitest';
import type { Suppression } from '../../functions/core/suppression';
import { type DispatcherFixture, mail, resetCounts, useDispatcherFixture } from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

const bounced = (address: string): Suppression => ({
  address,
  reason: 'bounce',
  source: 'ses',
  at: new Date().toISOString(),
  messageId: 'earlier',
});

describe('dispatcher and the per-tenant suppression list', () => {
  it('sends nothing when every recipient is suppressed, while another tenant still reaches the address', async () => {
    // Prepare
    await f.suppressions.putSuppression('supp-a', bounced('gone@example.test'));
    const records = await f.receive([
      mail('supp-a', { to: 'Gone@Example.test' }),
      mail('supp-b', { to: 'gone@example.test' }),
    ]);

    // Act
    const response = await f.invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests).toHaveLength(1);
    expect(f.sesRequests[0]?.Destination).toEqual({ ToAddresses: ['gone@example.test'] });
    const [a] = await f.deliveries('supp-a');
    expect(a).toMatchObject({
      status: 'suppressed',
      route: null,
      fallbackReason: null,
      accepted: [],
      suppressed: ['Gone@example.test'],
    });
    expect((await f.deliveries('supp-b'))[0]).toMatchObject({ status: 'sent', route: 'platform' });
    expect(await f.dlqMessages()).toEqual([]);
  });

  it('sends to the rest and lists the suppressed ones', async () => {
    await f.suppressions.putSuppression('supp-c', bounced('gone@example.test'));
    const records = await f.receive([
      mail('supp-c', { to: ['ann@example.test'], cc: ['gone@example.test'] }),
    ]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests[0]?.Destination).toEqual({ ToAddresses: ['ann@example.test'] });
    const [d] = await f.deliveries('supp-c');
    expect(d).toMatchObject({
      status: 'sent',
      accepted: ['ann@example.test'],
      suppressed: ['gone@example.test'],
    });
  });

  it("suppresses an address the tenant's own server refused with 5.1.1, for that tenant only", async () => {
    // Prepare
    const server = await f.smtp.start({
      rcpt: { 'nobody@example.test': '550 5.1.1 <nobody@example.test>: no such user' },
    });
    await f.smtpTenant('supp-smtp', server.port);
    const first = await f.receive([mail('supp-smtp', { to: ['ann@example.test', 'nobody@example.test'] })]);

    // Act
    await f.invoke(first);
    await f.invoke(await f.receive([mail('supp-smtp', { to: 'nobody@example.test', subject: 'again' })]));

    // Assess
    expect(await f.suppressions.getSuppression('supp-smtp', 'nobody@example.test')).toMatchObject({
      reason: 'bounce',
      source: 'smtp',
      detail: expect.stringContaining('5.1.1'),
    });
    expect(await f.suppressions.getSuppression('supp-other', 'nobody@example.test')).toBeNull();
    const [again, firstRecord] = await f.deliveries('supp-smtp');
    expect(firstRecord).toMatchObject({ status: 'partial', accepted: ['ann@example.test'] });
    expect(again).toMatchObject({ status: 'suppressed', suppressed: ['nobody@example.test'] });
    expect(server.received).toHaveLength(1);
  });

  it('does not suppress after a 5.2.2 (mailbox full)', async () => {
    const server = await f.smtp.start({ rcpt: { 'full@example.test': '552 5.2.2 mailbox full' } });
    await f.smtpTenant('supp-full', server.port);

    await f.invoke(await f.receive([mail('supp-full', { to: ['ann@example.test', 'full@example.test'] })]));

    expect(await f.suppressions.getSuppression('supp-full', 'full@example.test')).toBeNull();
  });

  it('checks a batch of 10 messages × 50 recipients in at most 5 read calls', async () => {
    // Prepare
    const bodies = Array.from({ length: 10 }, (_, m) =>
      mail(`supp-batch${m % 3}`, {
        to: Array.from({ length: 50 }, (_, r) => `r${m}-${r}@example.test`),
        subject: `batch ${m}`,
      }),
    );
    await f.suppressions.putSuppression('supp-batch1', bounced('r1-7@example.test'));
    const records = await f.receive(bodies);
    resetCounts(f.counts.dynamo);

    // Act
    const response = await f.invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(f.counts.dynamo.BatchGetItemCommand).toBeLessThanOrEqual(5);
    expect(f.sesRequests).toHaveLength(10);
    const withSuppressed = (await f.deliveries('supp-batch1')).find((d) => d.suppressed?.length);
    expect(withSuppressed?.suppressed).toEqual(['r1-7@example.test']);
  });
});
