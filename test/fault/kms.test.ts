import { describe, expect, it } from 'vitest';
import { createKmsCredentials } from '../../functions/adapters/kms-credentials';
import type { DispatchHandler } from '../../functions/dispatcher/dispatcher';
import { awsErrors } from '../support/aws-wire';
import { toSqsRecord } from '../support/dispatcher';
import type { HttpFault } from '../support/fault-proxy';
import { expectSound, type FaultRig, keysFor as keys, useFaultRig } from '../support/faults';
import type { TestSmtpServer } from '../support/smtp';

// KMS unavailable (throttled, failing, silent) is the platform's fault: the mail falls back with reason
// `kms-unavailable`, the tenant's breaker is not touched, and the next batch decrypts again. A bad
// ciphertext stays the tenant's `credentials` failure.

let rig: FaultRig;
useFaultRig((r) => {
  rig = r;
});

const decrypt = { when: (r: { target: string }) => r.target === 'TrentService.Decrypt' };

/** One batch under the fault, then one after it cleared; returns the keys and the peer. */
async function faultThenClear(tenantId: string, fault: HttpFault, handler: DispatchHandler) {
  const peer = await rig.fx.smtp.start();
  await rig.fx.smtpTenant(tenantId, peer.port);
  const during = keys(`${tenantId}-during`, 5);
  const before = rig.kms.stats.faults[fault.type] ?? 0;
  rig.kms.set({ fault, ...decrypt });
  await rig.enqueue(tenantId, during);
  await rig.drain(handler);
  const decryptsDuring = (rig.kms.stats.faults[fault.type] ?? 0) - before;
  rig.kms.clear();
  const after = keys(`${tenantId}-after`, 3);
  await rig.enqueue(tenantId, after);
  await rig.drain(handler);
  return { peer, during, after, decryptsDuring };
}

async function expectFellBackForKms(
  tenantId: string,
  during: string[],
  after: string[],
  peer: TestSmtpServer,
) {
  const a = await rig.account([...during, ...after], [peer]);
  expectSound(a);
  for (const key of during) expect(a.copies.get(key)).toEqual({ tenant: 0, ses: 1 });
  for (const key of after) expect(a.copies.get(key)).toEqual({ tenant: 1, ses: 0 });
  const records = await rig.fx.deliveries(tenantId);
  const byKey = new Map(records.map((r) => [r.messageId, r]));
  for (const key of during) {
    expect(byKey.get(key)).toMatchObject({
      route: 'platform',
      fallbackReason: 'kms-unavailable',
      status: 'sent',
    });
  }
  // The breaker never heard of it: healthy, no failure counted, nothing written against the tenant.
  const health = await rig.fx.health(tenantId);
  expect(health?.state ?? 'healthy').toBe('healthy');
  expect(health?.consecutiveFailures ?? 0).toBe(0);
  expect(health?.lastFailure ?? null).toBeNull();
}

describe('KMS unavailable: platform fallback with reason kms-unavailable, health untouched', () => {
  it.each([
    ['throttling (ThrottlingException)', awsErrors.kms.throttling()],
    ['an internal error (KMSInternalException, 500)', awsErrors.kms.internal()],
    ['a dependency timeout (503)', awsErrors.kms.dependencyTimeout()],
    [
      'an unnamed 503 from a load balancer',
      { status: 503, headers: { 'content-type': 'text/html' }, body: '<html>503</html>' },
    ],
  ])('%s', async (_name, response) => {
    const tenantId = `kms-${response.status}-${_name.length}`;
    const handler = rig.container();
    const { peer, during, after, decryptsDuring } = await faultThenClear(
      tenantId,
      { type: 'respond', response },
      handler,
    );
    // One decrypt for the batch: the tenant's other messages skip the tenant path at once.
    expect(decryptsDuring).toBe(1);
    await expectFellBackForKms(tenantId, during, after, peer);
  });

  it('a refused connection to KMS', async () => {
    const handler = rig.container();
    const { peer, during, after } = await faultThenClear('kms-refused', { type: 'refuse' }, handler);
    await expectFellBackForKms('kms-refused', during, after, peer);
  });

  it('a KMS that never answers: the call is cut after its own timeout, one wait per batch', async () => {
    const handler = rig.container({ credentials: createKmsCredentials(rig.cipher({ callTimeoutMs: 300 })) });
    const { peer, during, after, decryptsDuring } = await faultThenClear(
      'kms-hung',
      { type: 'hang' },
      handler,
    );
    expect(decryptsDuring).toBe(1);
    await expectFellBackForKms('kms-hung', during, after, peer);
  });

  it('under the hold policy the mail waits for KMS instead of going through SES', async () => {
    const peer = await rig.fx.smtp.start();
    await rig.fx.smtpTenant('kms-hold', peer.port, { fallback: 'hold' });
    const handler = rig.container();
    const held = keys('kms-hold', 3);
    rig.kms.set({ fault: { type: 'respond', response: awsErrors.kms.throttling() }, ...decrypt });
    await rig.enqueue('kms-hold', held);
    const messages = await rig.fx.sqs.receiveAll(rig.fx.sqs.queueUrl);
    const response = await rig.fx.invoke(messages.map(toSqsRecord), { handler });
    expect(response.batchItemFailures).toHaveLength(3);
    const first = await rig.fx.deliveries('kms-hold');
    expect(first.map((r) => [r.status, r.fallbackReason])).toEqual(
      Array(3).fill(['held', 'kms-unavailable']),
    );
    rig.kms.clear();
    await rig.drain(handler);
    const a = await rig.account(held, [peer]);
    expectSound(a);
    for (const key of held) expect(a.copies.get(key)).toEqual({ tenant: 1, ses: 0 });
    expect((await rig.fx.health('kms-hold'))?.consecutiveFailures ?? 0).toBe(0);
  });
});

describe("a bad ciphertext is the tenant's fault: class credentials, the breaker opens", () => {
  it('InvalidCiphertextException', async () => {
    const peer = await rig.fx.smtp.start();
    await rig.fx.smtpTenant('kms-bad', peer.port);
    const handler = rig.container();
    const sent = keys('kms-bad', 3);
    rig.kms.set({ fault: { type: 'respond', response: awsErrors.kms.invalidCiphertext() }, ...decrypt });
    await rig.enqueue('kms-bad', sent);
    await rig.drain(handler);
    const a = await rig.account(sent, [peer]);
    expectSound(a);
    for (const key of sent) expect(a.copies.get(key)).toEqual({ tenant: 0, ses: 1 });
    const records = await rig.fx.deliveries('kms-bad');
    expect(records.every((r) => r.fallbackReason === 'credentials')).toBe(true);
    expect(await rig.fx.health('kms-bad')).toMatchObject({
      state: 'unhealthy',
      lastFailure: { class: 'credentials', phase: 'DECRYPT', code: 'InvalidCiphertextException' },
    });
  });
});
