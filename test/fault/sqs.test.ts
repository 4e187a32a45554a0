import { describe, expect, it } from 'vitest';
import { awsErrors } from '../support/aws-wire';
import type { HttpRequestInfo } from '../support/fault-proxy';
import { expectSound, type FaultRig, keysFor, useFaultRig } from '../support/faults';

// SQS 5xx on the dispatcher's own queue calls (the DLQ send, the visibility of a message left queued),
// with SES throttled so that messages are left queued: every message ends sent or dead-lettered once.

let rig: FaultRig;
useFaultRig((r) => {
  rig = r;
});

const call = (operation: string) => (info: HttpRequestInfo) => info.target === `AmazonSQS.${operation}`;

describe('SQS faults on the dispatcher calls', () => {
  it('a failed DLQ send or visibility change loses nothing and dead-letters nothing twice', async () => {
    await rig.fx.platformTenant('sqs-plat');
    const valid = keysFor('sqs-valid', 10);
    const invalid = keysFor('sqs-invalid', 10);
    const handler = rig.container();
    rig.sqs.set(
      {
        fault: { type: 'respond', response: awsErrors.sqs.internal() },
        when: call('SendMessage'),
        rate: 0.4,
      },
      {
        fault: { type: 'respond', response: awsErrors.sqs.unavailable() },
        when: call('ChangeMessageVisibility'),
        rate: 0.4,
      },
    );
    rig.ses.set({
      fault: { type: 'respond', response: awsErrors.ses.tooManyRequests() },
      when: (info) => info.path.startsWith('/v2/email/outbound-emails'),
      rate: 0.4,
    });
    await rig.enqueue('sqs-plat', valid);
    await rig.enqueue('sqs-plat', invalid, { v: 2 });
    await rig.drain(handler);

    const a = await rig.account([...valid, ...invalid], []);
    expectSound(a);
    expect(rig.sqs.stats.faults.respond ?? 0).toBeGreaterThan(0);
    for (const key of invalid) {
      expect(
        a.dlq.get(key)?.map((e) => e.reason),
        key,
      ).toEqual(['validation']);
      expect(a.dlq.get(key)?.[0]?.detail).toMatch(/^v: /);
    }
    for (const key of valid) {
      const sent = a.copies.get(key)?.ses ?? 0;
      const dead = a.dlq.get(key)?.map((e) => e.reason) ?? [];
      expect(sent + dead.length, key).toBe(1);
      for (const reason of dead) expect(reason).toBe('undeliverable');
    }
  });
});
