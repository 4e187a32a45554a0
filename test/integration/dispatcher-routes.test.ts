import { MessageRejected } from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import {
  captureOutput,
  type DispatcherFixture,
  mail,
  PLATFORM,
  resetCounts,
  useDispatcherFixture,
} from '../support/dispatcher';

let f: DispatcherFixture;
useDispatcherFixture((started) => {
  f = started;
});

describe('dispatcher routes', () => {
  it('sends through a healthy tenant server: tenant From, no SES, delivery recorded', async () => {
    // Prepare
    const server = await f.smtp.start();
    await f.smtpTenant('acme', server.port);
    const records = await f.receive([mail('acme', { replyTo: 'sales@acme.test' })]);

    // Act
    const response = await f.invoke(records);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.to).toEqual(['ann@example.test']);
    expect(server.received[0]?.from).toBe('notifications@acme.test');
    const raw = server.received[0]?.raw.toString() ?? '';
    expect(raw).toContain('From: ACME <notifications@acme.test>');
    expect(raw).toContain('Auto-Submitted: auto-generated');
    expect(await f.ses.store()).toHaveLength(0);
    const [d] = await f.deliveries('acme');
    expect(d).toMatchObject({
      route: 'smtp',
      fallbackReason: null,
      status: 'sent',
      accepted: ['ann@example.test'],
    });
    expect((await f.health('acme'))?.state).toBe('healthy');
  });

  it('sends a tenant with no config through the platform (no-config)', async () => {
    const records = await f.receive([mail('initech', { kind: 'autoresponder' })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    const emails = await f.ses.store();
    expect(emails).toHaveLength(1);
    expect(emails[0]?.from).toContain(PLATFORM.address);
    expect(emails[0]?.from).toContain(PLATFORM.name);
    const [d] = await f.deliveries('initech');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: 'no-config', status: 'sent' });
    expect(await f.health('initech')).toBeNull();
  });

  it('sends a platform-mode tenant through SES with no fallback reason', async () => {
    await f.platformTenant('umbrella');
    const records = await f.receive([mail('umbrella')]);

    await f.invoke(records);

    expect(await f.ses.store()).toHaveLength(1);
    const [d] = await f.deliveries('umbrella');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: null, status: 'sent' });
    expect((await f.health('umbrella'))?.state).toBe('healthy');
  });

  it('sends a verified domain-tier tenant through SES from its own domain', async () => {
    await f.domainTenant('verified', 'verified.test');
    const records = await f.receive([mail('verified')]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(f.sesRequests.map((r) => r.FromEmailAddress)).toEqual(['hello@verified.test']);
    const emails = await f.ses.store();
    expect(emails).toHaveLength(1);
    expect(emails[0]?.from).toContain('hello@verified.test');
    const [d] = await f.deliveries('verified');
    expect(d).toMatchObject({ route: 'domain', fallbackReason: null, status: 'sent' });
    expect(d?.accepted).toEqual(['ann@example.test']);
  });

  it('falls back from an unverified domain and remembers it: the next message skips the domain', async () => {
    await f.domainTenant('unverified', 'x.test');
    f.failSes((input) =>
      input.FromEmailAddress === 'hello@x.test'
        ? new MessageRejected({
            message:
              'Email address is not verified. The following identities failed the check in region US-EAST-1: hello@x.test',
            $metadata: {},
          })
        : undefined,
    );

    const first = await f.invoke(await f.receive([mail('unverified', { subject: 'first' })]));
    const firstRequests = f.sesRequests.map((r) => r.FromEmailAddress);
    f.sesRequests.length = 0;
    f.clock.shift(4 * 60_000); // still within the 5 min memory
    const second = await f.invoke(await f.receive([mail('unverified', { subject: 'second' })]));

    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(firstRequests).toEqual(['hello@x.test', PLATFORM.address]);
    expect(f.sesRequests.map((r) => r.FromEmailAddress)).toEqual([PLATFORM.address]);
    const emails = await f.ses.store();
    expect(emails).toHaveLength(2);
    for (const email of emails) expect(email.from).toContain(`unverified via ${PLATFORM.name}`);
    const log = await f.deliveries('unverified');
    expect(log).toHaveLength(2);
    for (const d of log) {
      expect(d).toMatchObject({ route: 'platform', fallbackReason: 'domain-unverified', status: 'sent' });
    }
  });

  it('does not take an SES sandbox refusal of a recipient for an unverified domain', async () => {
    await f.domainTenant('sandboxed', 'sandboxed.test');
    f.failSes((input) =>
      input.FromEmailAddress === 'hello@sandboxed.test'
        ? new MessageRejected({
            message:
              'Email address is not verified. The following identities failed the check in region US-EAST-1: ann@example.test',
            $metadata: {},
          })
        : undefined,
    );

    const response = await f.invoke(await f.receive([mail('sandboxed')]));

    expect(response.batchItemFailures).toHaveLength(1); // an SES failure: retried, not a fallback
    expect(f.sesRequests.map((r) => r.FromEmailAddress)).toEqual(['hello@sandboxed.test']);
    const [d] = await f.deliveries('sandboxed');
    expect(d).toMatchObject({ route: 'domain', status: 'retrying' });
    expect(d?.fallbackReason).not.toBe('domain-unverified');
  });

  it('records a 5.1.1 for one of two recipients as partial; the other gets it through the tenant', async () => {
    const server = await f.smtp.start({ rcpt: { 'gone@example.test': '550 5.1.1 No such user' } });
    await f.smtpTenant('partial', server.port);
    const records = await f.receive([mail('partial', { to: ['ann@example.test', 'gone@example.test'] })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.to).toEqual(['ann@example.test']);
    expect(f.sesRequests).toHaveLength(0);
    const [d] = await f.deliveries('partial');
    expect(d).toMatchObject({ route: 'smtp', fallbackReason: null, status: 'partial' });
    expect(d?.accepted).toEqual(['ann@example.test']);
    expect(d?.rejected.map((r) => r.address)).toEqual(['gone@example.test']);
    expect(d?.rejected[0]?.response).toContain('5.1.1');
    const health = await f.health('partial');
    expect(health).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
  });

  it('records all recipients refused with 5.1.1 as rejected: no fallback, health untouched', async () => {
    const server = await f.smtp.start({
      rcpt: { 'a@example.test': '550 5.1.1 No such user', 'b@example.test': '550 5.1.1 No such user' },
    });
    await f.smtpTenant('refused', server.port);
    const records = await f.receive([mail('refused', { to: ['a@example.test', 'b@example.test'] })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(0);
    expect(f.sesRequests).toHaveLength(0);
    const [d] = await f.deliveries('refused');
    expect(d).toMatchObject({ route: 'smtp', fallbackReason: null, status: 'rejected', accepted: [] });
    expect(d?.rejected.map((r) => r.address).sort()).toEqual(['a@example.test', 'b@example.test']);
    expect(await f.health('refused')).toMatchObject({
      state: 'healthy',
      consecutiveFailures: 0,
      lastFailure: null,
    });
  });

  it('splits on a 4xx for one of two recipients: one through the tenant, the other through SES', async () => {
    const server = await f.smtp.start({ rcpt: { 'busy@example.test': '451 4.3.0 Try again later' } });
    await f.smtpTenant('splitco', server.port);
    const records = await f.receive([mail('splitco', { to: ['ann@example.test', 'busy@example.test'] })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.to).toEqual(['ann@example.test']);
    expect(f.sesRequests).toHaveLength(1);
    expect(f.sesRequests[0]?.Destination).toEqual({ ToAddresses: ['busy@example.test'] });
    expect(f.sesRequests[0]?.FromEmailAddress).toBe(PLATFORM.address);
    expect(f.sesRequests[0]?.EmailTags).toEqual([
      { Name: 'tenantId', Value: 'splitco' },
      { Name: 'route', Value: 'split' },
      { Name: 'fallbackReason', Value: 'server-temporary' },
      { Name: 'messageId', Value: expect.stringMatching(/^[A-Za-z0-9_-]+$/) },
    ]);
    const [d] = await f.deliveries('splitco');
    // The event of this send finds its delivery by the tags (docs/design.md §18).
    const tagValue = (name: string) => f.sesRequests[0]?.EmailTags?.find((t) => t.Name === name)?.Value;
    expect(Buffer.from(tagValue('messageId') ?? '', 'base64url').toString()).toBe(d?.messageId);
    expect(d).toMatchObject({ route: 'split', fallbackReason: 'server-temporary', status: 'sent' });
    expect(d?.accepted.sort()).toEqual(['ann@example.test', 'busy@example.test']);
    expect(d?.rejected).toEqual([]);
    expect(await f.health('splitco')).toMatchObject({ state: 'healthy', consecutiveFailures: 1 });
    // Both halves are one message: the same Message-ID, derived from the idempotency key.
    const messageIdOf = (raw: string) => /^Message-ID: (<[^>]+>)/im.exec(raw)?.[1];
    const tenantId = messageIdOf(server.received[0]?.raw.toString() ?? '');
    const sesRaw = Buffer.from(f.sesRequests[0]?.Content?.Raw?.Data ?? new Uint8Array()).toString();
    expect(tenantId).toMatch(/^<[A-Za-z0-9_-]{32}@splitco\.test>$/);
    expect(messageIdOf(sesRaw)).toBe(tenantId);
  });

  it('reads each tenant once per batch and writes at most 2 items per delivered message', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('hooli', server.port);
    // Warm-up: the first success records lastSuccessAt (at most every 5 min), the container decrypts once.
    await f.invoke(await f.receive([mail('hooli')]));
    resetCounts(f.counts.dynamo);
    resetCounts(f.counts.kms);
    const bodies = [
      ...Array.from({ length: 4 }, (_, i) => mail('hooli', { subject: `h${i}` })),
      ...Array.from({ length: 3 }, (_, i) => mail('initech', { subject: `i${i}` })),
    ];

    const response = await f.invoke(await f.receive(bodies));

    expect(response.batchItemFailures).toEqual([]);
    expect(server.received).toHaveLength(5);
    expect(f.counts.dynamo.QueryCommand).toBe(2);
    const writes =
      (f.counts.dynamo.UpdateItemCommand ?? 0) +
      (f.counts.dynamo.PutItemCommand ?? 0) +
      (f.counts.dynamo.DeleteItemCommand ?? 0);
    expect(writes).toBeLessThanOrEqual(2 * bodies.length);
    expect(f.counts.kms.DecryptCommand ?? 0).toBe(0);
  });

  it('decrypts a tenant password at most once per container, across batches', async () => {
    const server = await f.smtp.start();
    await f.smtpTenant('kmsco', server.port);
    const container = f.newContainer();
    resetCounts(f.counts.kms);

    await f.invoke(await f.receive([mail('kmsco', { subject: 'a' }), mail('kmsco', { subject: 'b' })]), {
      handler: container,
    });
    await f.invoke(await f.receive([mail('kmsco', { subject: 'c' })]), { handler: container });

    expect(server.received).toHaveLength(3);
    expect(f.counts.kms.DecryptCommand).toBe(1);
  });

  it('emits a Sent metric with the route dimension, and none for a message every recipient refused', async () => {
    const refusing = await f.smtp.start({ rcpt: { 'gone@example.test': '550 5.1.1 No such user' } });
    await f.smtpTenant('metricsrej', refusing.port);
    const { emf } = await captureOutput(async () => {
      const container = f.newContainer();
      const records = await f.receive([mail('metricsco'), mail('metricsrej', { to: 'gone@example.test' })]);
      await f.invoke(records, { handler: container });
    });

    const sent = emf.filter((m) => m.Sent !== undefined);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ route: 'platform', Sent: 1, service: 'dispatcher-test' });
    const directive = sent[0]?._aws?.CloudWatchMetrics[0];
    expect(directive?.Dimensions).toEqual([['service', 'route']]);
    expect(emf.some((m) => m.Fallback === 1 && m.reason === 'no-config')).toBe(true);
    expect((await f.deliveries('metricsrej'))[0]?.status).toBe('rejected');
  });
});
