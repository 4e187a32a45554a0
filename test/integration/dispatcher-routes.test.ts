import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DispatcherFixture,
  mail,
  PLATFORM,
  resetCounts,
  startDispatcherFixture,
} from '../support/dispatcher';

let f: DispatcherFixture;

beforeAll(async () => {
  f = await startDispatcherFixture();
});
afterAll(async () => {
  await f.close();
});
beforeEach(async () => {
  await f.ses.clear();
  resetCounts(f.counts.dynamo);
  resetCounts(f.counts.kms);
});

async function deliveries(tenantId: string) {
  return (await f.store.listDeliveries(tenantId, { limit: 100 })).items;
}

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
    const [d] = await deliveries('acme');
    expect(d).toMatchObject({
      route: 'smtp',
      fallbackReason: null,
      status: 'sent',
      accepted: ['ann@example.test'],
    });
    const { health } = await f.store.loadTenant('acme');
    expect(health?.state).toBe('healthy');
  });

  it('sends a tenant with no config through the platform (no-config)', async () => {
    const records = await f.receive([mail('initech', { kind: 'autoresponder' })]);

    const response = await f.invoke(records);

    expect(response.batchItemFailures).toEqual([]);
    const emails = await f.ses.store();
    expect(emails).toHaveLength(1);
    expect(emails[0]?.from).toContain(PLATFORM.address);
    expect(emails[0]?.from).toContain(PLATFORM.name);
    const [d] = await deliveries('initech');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: 'no-config', status: 'sent' });
  });

  it('sends a platform-mode tenant through SES with no fallback reason', async () => {
    await f.platformTenant('umbrella');
    const records = await f.receive([mail('umbrella')]);

    await f.invoke(records);

    expect(await f.ses.store()).toHaveLength(1);
    const [d] = await deliveries('umbrella');
    expect(d).toMatchObject({ route: 'platform', fallbackReason: null, status: 'sent' });
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
});
