import { describe, expect, it } from 'vitest';
import { awsErrors, dynamoRequest } from '../support/aws-wire';
import type { FaultRule, HttpFault, HttpRequestInfo } from '../support/fault-proxy';
import { expectSound, type FaultRig, keysFor, useFaultRig } from '../support/faults';
import type { TestSmtpServer } from '../support/smtp';

// DynamoDB throttling and 5xx (and answers lost after the write happened) on each of the dispatcher's
// calls: no message is lost, a double only with a recorded reason, no claim outlives its lease, and once
// the faults clear the health of each tenant matches its server.

let rig: FaultRig;
useFaultRig((r) => {
  rig = r;
});

type Rule = FaultRule<HttpRequestInfo, HttpFault>;

/** Every kind of failure DynamoDB gives, each at `rate` of the matching calls. */
function everyFault(when: (info: HttpRequestInfo) => boolean, rate: number): Rule[] {
  const answers = [
    awsErrors.dynamodb.throttling(),
    awsErrors.dynamodb.provisionedThroughputExceeded(),
    awsErrors.dynamodb.internalServerError(),
    awsErrors.dynamodb.serviceUnavailable(),
  ];
  return [
    ...answers.map((response): Rule => ({ fault: { type: 'respond', response }, when, rate })),
    { fault: { type: 'lose-response' }, when, rate },
  ];
}

const calls = {
  claim: dynamoRequest('UpdateItem', 'if_not_exists(#dsk'),
  configRead: dynamoRequest('Query', 'TENANT#'),
  deliveryWrite: dynamoRequest('PutItem', 'DELIVERY#'),
  healthWrite: (info: HttpRequestInfo) =>
    (info.target === 'DynamoDB_20120810.PutItem' || info.target === 'DynamoDB_20120810.UpdateItem') &&
    info.body.includes('"HEALTH"'),
  anything: (info: HttpRequestInfo) => info.target.startsWith('DynamoDB_20120810.'),
};

interface Tenants {
  good: string;
  bad: string;
  platform: string;
  goodPeer: TestSmtpServer;
  badPeer: TestSmtpServer;
}

/** Three tenants: one with a working server, one whose server refuses every mail, one on the platform. */
async function tenants(name: string): Promise<Tenants> {
  const goodPeer = await rig.fx.smtp.start();
  const badPeer = await rig.fx.smtp.start({ mail: '451 4.3.0 Try again later' });
  const t = { good: `${name}-good`, bad: `${name}-bad`, platform: `${name}-plat`, goodPeer, badPeer };
  await rig.fx.smtpTenant(t.good, goodPeer.port);
  await rig.fx.smtpTenant(t.bad, badPeer.port);
  await rig.fx.platformTenant(t.platform);
  return t;
}

/** Runs messages of the three tenants under `rules`, then more with the faults cleared; accounts for all. */
async function underFaults(name: string, rules: Rule[], perTenant = 8) {
  const t = await tenants(name);
  const handler = rig.container();
  const during = [t.good, t.bad, t.platform].map((id) => [id, keysFor(`${id}-d`, perTenant)] as const);
  rig.dynamo.set(...rules);
  for (const [id, keys] of during) await rig.enqueue(id, keys);
  await rig.drain(handler);
  const faults = Object.values(rig.dynamo.stats.faults).reduce((a, b) => a + b, 0);
  rig.dynamo.clear();
  // After the faults: one message per tenant in each of three batches (a batch counts one failure per
  // tenant), so HEALTH catches up with what each server does now.
  const after = [t.good, t.bad].map((id) => [id, keysFor(`${id}-a`, 3)] as const);
  for (let i = 0; i < 3; i += 1) {
    for (const [id, keys] of after) await rig.enqueue(id, keys.slice(i, i + 1));
    await rig.drain(handler);
  }

  const all = [...during, ...after].flatMap(([, keys]) => keys);
  const a = await rig.account(all, [t.goodPeer, t.badPeer]);
  expectSound(a);
  expect(faults).toBeGreaterThan(0);
  // The working server got every one of its tenant's messages (none went through SES for a store fault).
  for (const [id, keys] of [...during, ...after]) {
    if (id !== t.good) continue;
    for (const key of keys) expect(a.copies.get(key)?.ses, key).toBe(0);
  }
  expect((await rig.fx.health(t.good))?.state ?? 'healthy').toBe('healthy');
  expect((await rig.fx.health(t.bad))?.state).toBe('unhealthy');
  return a;
}

describe('DynamoDB faults on each dispatcher call', () => {
  it('the claim', async () => {
    await underFaults('claim', everyFault(calls.claim, 0.12));
  });

  it('the config read', async () => {
    await underFaults('cfg', everyFault(calls.configRead, 0.12));
  });

  it('the delivery write', async () => {
    await underFaults('dlv', everyFault(calls.deliveryWrite, 0.12));
  });

  it('the health write', async () => {
    await underFaults('hlt', everyFault(calls.healthWrite, 0.15));
  });

  it('every call at once', async () => {
    await underFaults('all', everyFault(calls.anything, 0.05), 10);
  });
});
