import { describe, expect, it } from 'vitest';
import { awsErrors } from '../support/aws-wire';
import type { FaultRule, HttpFault, HttpRequestInfo } from '../support/fault-proxy';
import { expectSound, type FaultRig, keysFor, useFaultRig } from '../support/faults';

// SES throttling and 5xx, and answers lost after SES took the mail: every message ends delivered or in
// the DLQ (undeliverable, after MAX_ATTEMPTS), and a message SES may have taken twice says so.

let rig: FaultRig;
useFaultRig((r) => {
  rig = r;
});

type Rule = FaultRule<HttpRequestInfo, HttpFault>;
const send = (info: HttpRequestInfo) =>
  info.method === 'POST' && info.path.startsWith('/v2/email/outbound-emails');

async function run(name: string, rules: Rule[]) {
  const downPeer = await rig.fx.smtp.start({ greeting: '421 4.3.2 Too busy' });
  const platform = `${name}-plat`;
  const fallback = `${name}-fb`;
  await rig.fx.platformTenant(platform);
  await rig.fx.smtpTenant(fallback, downPeer.port);
  const keys = { [platform]: keysFor(`${platform}`, 10), [fallback]: keysFor(`${fallback}`, 10) };
  const handler = rig.container();
  rig.ses.set(...rules);
  for (const [id, list] of Object.entries(keys)) await rig.enqueue(id, list);
  await rig.drain(handler);
  rig.ses.clear();
  const all = Object.values(keys).flat();
  const a = await rig.account(all, [downPeer]);
  expectSound(a);
  return { a, all };
}

describe('SES faults', () => {
  it('throttling (TooManyRequestsException) and 5xx: retried, then delivered or dead-lettered as undeliverable', async () => {
    const { a, all } = await run('ses-err', [
      { fault: { type: 'respond', response: awsErrors.ses.tooManyRequests() }, when: send, rate: 0.3 },
      { fault: { type: 'respond', response: awsErrors.ses.internal() }, when: send, rate: 0.15 },
      { fault: { type: 'respond', response: awsErrors.ses.unavailable() }, when: send, rate: 0.15 },
    ]);
    expect(rig.ses.stats.faults.respond).toBeGreaterThan(0);
    for (const key of all) {
      const copies = a.copies.get(key);
      const dead = a.dlq.get(key) ?? [];
      // Refused answers mean SES sent nothing: exactly one copy, or the DLQ.
      expect((copies?.ses ?? 0) + dead.length, key).toBe(1);
      for (const entry of dead) expect(entry.reason).toBe('undeliverable');
    }
  });

  it('an answer lost after SES took the mail: a second copy is recorded as a possible duplicate', async () => {
    const { a } = await run('ses-lost', [{ fault: { type: 'lose-response' }, when: send, rate: 0.3 }]);
    const doubles = [...a.copies.values()].filter((c) => c.ses > 1);
    expect(doubles.length).toBeGreaterThan(0);
  });

  it('a refused connection to SES', async () => {
    await run('ses-refused', [{ fault: { type: 'refuse' }, when: send, rate: 0.4 }]);
  });
});
